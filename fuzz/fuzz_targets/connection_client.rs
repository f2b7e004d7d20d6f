//! A client engine fed arbitrary peer bytes and frames plus arbitrary
//! application calls and clock movements; see `sockeye_fuzz::drive` for the
//! invariants checked after every step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockeye::Role;
use sockeye_fuzz::drive::{Scenario, run};

fuzz_target!(|scenario: Scenario| run(Role::Client, scenario));
