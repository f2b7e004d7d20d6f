/*
 * An Autobahn TestSuite client on the sockeye C ABI: blocking sockets, one
 * connection at a time, poll() only to wait for the engine's deadlines.
 *
 *     autobahn_client ws://HOST:PORT
 *
 * Against a fuzzing server (kosoku -m fuzzingserver) it asks /getCaseCount,
 * runs every /runCase?case=N echoing each text and binary message as it
 * came, then calls /updateReports, as the adapters' Autobahn clients do.
 *
 * Build (from crates/sockeye-ffi, after `cargo build --release -p sockeye-ffi`):
 *
 *     cc -O2 -Wall -Wextra -Werror -o ../../target/autobahn_client \
 *        examples/autobahn_client.c -Iinclude ../../target/release/libsockeye_ffi.a \
 *        -lpthread -ldl -lm
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "sockeye.h"

#define AGENT "sockeye-ffi-c"

/* What a connection does with the messages it receives. */
enum mode {
    /* /getCaseCount: the one text message is the number of cases. */
    READ_COUNT,
    /* /runCase: send every message back. */
    ECHO,
    /* /updateReports: nothing is expected. */
    IGNORE,
};

static sockeye_config *config;
static char host[256];
static char port[16];

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int check(sockeye_status status, const char *what) {
    if (status < 0) {
        const char *text = "?";
        sockeye_status_describe(status, &text);
        fprintf(stderr, "autobahn_client: %s: %s (%d)\n", what, text, (int)status);
        return -1;
    }
    return 0;
}

/* Split "ws://HOST:PORT" (a trailing "/" allowed) into host and port. */
static int parse_url(const char *url) {
    const char *prefix = "ws://";
    if (strncmp(url, prefix, strlen(prefix)) != 0) return -1;
    const char *authority = url + strlen(prefix);
    size_t length = strcspn(authority, "/");
    const char *colon = memchr(authority, ':', length);
    if (colon == NULL) return -1;
    size_t host_length = (size_t)(colon - authority);
    size_t port_length = length - host_length - 1;
    if (host_length == 0 || host_length >= sizeof host || port_length == 0 ||
        port_length >= sizeof port)
        return -1;
    memcpy(host, authority, host_length);
    host[host_length] = '\0';
    memcpy(port, colon + 1, port_length);
    port[port_length] = '\0';
    return 0;
}

static int connect_tcp(void) {
    struct addrinfo hints, *found;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int error = getaddrinfo(host, port, &hints, &found);
    if (error != 0) {
        fprintf(stderr, "autobahn_client: %s:%s: %s\n", host, port, gai_strerror(error));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *at = found; at != NULL && fd < 0; at = at->ai_next) {
        fd = socket(at->ai_family, at->ai_socktype, at->ai_protocol);
        if (fd >= 0 && connect(fd, at->ai_addr, at->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd < 0) {
        perror("autobahn_client: connect");
        return -1;
    }
    /* Small echoes go out at once instead of waiting for Nagle's timer. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Write everything queued; the socket blocks until the peer takes it. */
static int flush(int fd, sockeye_conn *conn) {
    for (;;) {
        const uint8_t *data;
        size_t len;
        if (check(sockeye_conn_transmit(conn, &data, &len), "transmit") < 0) return -1;
        if (len == 0) return 0;
        ssize_t written = send(fd, data, len, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (check(sockeye_conn_consume(conn, (size_t)written), "consume") < 0) return -1;
    }
}

/* Handle every pending event; `count` receives the case count in READ_COUNT. */
static void drain_events(sockeye_conn *conn, enum mode mode, unsigned long *count) {
    sockeye_event event;
    sockeye_status status;
    while ((status = sockeye_conn_poll_event(conn, &event)) == SOCKEYE_STATUS_OK) {
        status = SOCKEYE_STATUS_OK;
        if (event.kind == SOCKEYE_EVENT_KIND_TEXT && mode == READ_COUNT) {
            char digits[32];
            size_t len = event.len < sizeof digits - 1 ? event.len : sizeof digits - 1;
            memcpy(digits, event.data, len);
            digits[len] = '\0';
            *count = strtoul(digits, NULL, 10);
        } else if (event.kind == SOCKEYE_EVENT_KIND_TEXT && mode == ECHO) {
            /* The payload is valid until the next call on the handle:
             * sending it right away is the one thing done with it. */
            status = sockeye_conn_send_text(conn, (const char *)event.data, event.len);
        } else if (event.kind == SOCKEYE_EVENT_KIND_BINARY && mode == ECHO) {
            status = sockeye_conn_send_binary(conn, event.data, event.len);
        }
        /* OPEN, PING (already answered), PONG, CLOSE (already answered),
         * ERROR (its close frame is queued) need nothing. Sending after
         * the peer's close frame is refused; that is fine. */
        if (status != SOCKEYE_STATUS_ERR_CLOSED) check(status, "send");
    }
    check(status, "poll_event");
}

/*
 * One connection to `path`, driven until the engine is CLOSED and the
 * transport is done: the server closed it, or the engine has no deadline
 * left to wait for (RFC 6455 §7.1.1: the client lets the server close
 * first, within the engine's close and linger timers).
 */
static int run(const char *path, enum mode mode, unsigned long *count) {
    int fd = connect_tcp();
    if (fd < 0) return -1;
    char host_header[sizeof host + sizeof port + 1];
    snprintf(host_header, sizeof host_header, "%s:%s", host, port);
    sockeye_conn *conn = NULL;
    if (check(sockeye_conn_new_client(config, host_header, path, NULL, 0, NULL, 0, now_ms(), &conn),
              "new_client") < 0) {
        close(fd);
        return -1;
    }
    static uint8_t buffer[64 * 1024];
    int result = 0;
    for (;;) {
        if (flush(fd, conn) < 0) {
            result = -1;
            break;
        }
        sockeye_state state = SOCKEYE_STATE_OPEN;
        uint64_t deadline = SOCKEYE_NO_TIMEOUT;
        check(sockeye_conn_state(conn, &state), "state");
        check(sockeye_conn_next_timeout_ms(conn, &deadline), "next_timeout_ms");
        if (state == SOCKEYE_STATE_CLOSED && deadline == SOCKEYE_NO_TIMEOUT) break;

        uint64_t now = now_ms();
        int timeout = -1;
        if (deadline != SOCKEYE_NO_TIMEOUT)
            timeout = deadline <= now ? 0 : (int)(deadline - now > 60000 ? 60000 : deadline - now);
        struct pollfd readable = { .fd = fd, .events = POLLIN };
        int ready = poll(&readable, 1, timeout);
        if (ready < 0 && errno != EINTR) {
            result = -1;
            break;
        }
        if (ready > 0) {
            ssize_t got = recv(fd, buffer, sizeof buffer, 0);
            if (got > 0) {
                check(sockeye_conn_receive(conn, buffer, (size_t)got), "receive");
            } else if (got == 0 || errno != EINTR) {
                /* The server closed the transport (or it failed): the
                 * engine reports an unexpected end if that was early. */
                check(sockeye_conn_receive_eof(conn), "receive_eof");
                drain_events(conn, mode, count);
                flush(fd, conn);
                break;
            }
        }
        check(sockeye_conn_handle_timeout(conn, now_ms()), "handle_timeout");
        drain_events(conn, mode, count);
    }
    close(fd);
    check(sockeye_conn_free(conn), "free");
    return result;
}

static void configure(void) {
    if (check(sockeye_config_new(&config), "config_new") < 0) exit(1);
    /* Autobahn's 9.* cases send messages and frames of up to 16 MiB. */
    struct { uint32_t option; uint64_t value; } options[] = {
        { SOCKEYE_OPTION_MAX_FRAME_SIZE, 16u << 20 },
        { SOCKEYE_OPTION_MAX_MESSAGE_SIZE, 64u << 20 },
        { SOCKEYE_OPTION_WRITE_HIGH_WATER_MARK, 32u << 20 },
    };
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        if (check(sockeye_config_set(config, options[i].option, options[i].value), "config_set") < 0)
            exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 2 || parse_url(argv[1]) < 0) {
        fprintf(stderr, "usage: autobahn_client ws://HOST:PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    configure();

    unsigned long count = 0;
    if (run("/getCaseCount", READ_COUNT, &count) < 0 || count == 0) {
        fprintf(stderr, "autobahn_client: no case count from %s\n", argv[1]);
        return 1;
    }
    printf("%lu cases\n", count);
    for (unsigned long test_case = 1; test_case <= count; test_case++) {
        char path[128];
        snprintf(path, sizeof path, "/runCase?case=%lu&agent=" AGENT, test_case);
        /* A case may end in a failed socket; the report says what happened. */
        if (run(path, ECHO, NULL) < 0) printf("case %lu: the transport failed\n", test_case);
    }
    int result = run("/updateReports?agent=" AGENT, IGNORE, NULL);
    check(sockeye_config_free(config), "config_free");
    return result < 0 ? 1 : 0;
}
