/*
 * A WebSocket echo server on the sockeye C ABI: one thread, poll(),
 * non-blocking sockets, any number of clients.
 *
 *     echo_server HOST:PORT
 *
 * Every text and binary message is sent back as it came. Pings are answered
 * by the engine (auto-pong); close frames are echoed by the engine too. The
 * server closes each TCP connection once the engine reports CLOSED and
 * everything queued has been written (RFC 6455 §7.1.1: the server closes
 * first).
 *
 * Build (from crates/sockeye-ffi, after `cargo build --release -p sockeye-ffi`):
 *
 *     cc -O2 -Wall -Wextra -Werror -o ../../target/echo_server \
 *        examples/echo_server.c -Iinclude ../../target/release/libsockeye_ffi.a \
 *        -lpthread -ldl -lm
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
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

/* One accepted TCP connection and the sockeye handle that speaks on it. */
struct client {
    int fd;
    sockeye_conn *conn;
};

static struct client *clients;
static size_t client_count;
static size_t client_capacity;
static sockeye_config *config;

/* Milliseconds on a monotonic clock: the epoch every handle shares. */
static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Report a failed ABI call; every call returns a status. */
static int check(sockeye_status status, const char *what) {
    if (status < 0) {
        const char *text = "?";
        sockeye_status_describe(status, &text);
        fprintf(stderr, "echo_server: %s: %s (%d)\n", what, text, (int)status);
        return -1;
    }
    return 0;
}

static int set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Listen on "HOST:PORT" (the host may be a name or an address). */
static int listen_on(const char *spec) {
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || (size_t)(colon - spec) >= sizeof host) {
        fprintf(stderr, "usage: echo_server HOST:PORT\n");
        exit(2);
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';

    struct addrinfo hints, *found;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int error = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &found);
    if (error != 0) {
        fprintf(stderr, "echo_server: %s: %s\n", spec, gai_strerror(error));
        exit(1);
    }
    int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, found->ai_addr, found->ai_addrlen) < 0) die("bind");
    freeaddrinfo(found);
    if (listen(fd, 128) < 0) die("listen");
    if (set_nonblocking(fd) < 0) die("fcntl");
    return fd;
}

static void drop_client(size_t index) {
    close(clients[index].fd);
    check(sockeye_conn_free(clients[index].conn), "free");
    clients[index] = clients[--client_count];
}

static void accept_clients(int listener) {
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) perror("accept");
            return;
        }
        sockeye_conn *conn = NULL;
        if (set_nonblocking(fd) < 0 ||
            check(sockeye_conn_new_server(config, NULL, 0, now_ms(), &conn), "new_server") < 0) {
            close(fd);
            continue;
        }
        if (client_count == client_capacity) {
            client_capacity = client_capacity ? client_capacity * 2 : 16;
            clients = realloc(clients, client_capacity * sizeof *clients);
            if (clients == NULL) die("realloc");
        }
        clients[client_count].fd = fd;
        clients[client_count].conn = conn;
        client_count++;
    }
}

/* Turn every pending event into its echo. */
static void drain_events(sockeye_conn *conn) {
    sockeye_event event;
    sockeye_status status;
    while ((status = sockeye_conn_poll_event(conn, &event)) == SOCKEYE_STATUS_OK) {
        switch (event.kind) {
        case SOCKEYE_EVENT_KIND_TEXT:
            /* The payload is valid until the next call on the handle:
             * sending it right away is the one thing done with it. */
            status = sockeye_conn_send_text(conn, (const char *)event.data, event.len);
            break;
        case SOCKEYE_EVENT_KIND_BINARY:
            status = sockeye_conn_send_binary(conn, event.data, event.len);
            break;
        case SOCKEYE_EVENT_KIND_ERROR:
            /* A failed connection: the engine has queued its close frame
             * (or HTTP error answer); it is written out below. */
            status = SOCKEYE_STATUS_OK;
            break;
        default:
            /* OPEN, PING (already answered), PONG, CLOSE (already echoed). */
            status = SOCKEYE_STATUS_OK;
            break;
        }
        /* Sending after the peer's close frame is refused; that is fine. */
        if (status != SOCKEYE_STATUS_ERR_CLOSED) check(status, "send");
    }
    check(status, "poll_event");
}

/* Write what the handle has queued; returns -1 when the socket failed. */
static int flush(struct client *client) {
    for (;;) {
        const uint8_t *data;
        size_t len;
        if (check(sockeye_conn_transmit(client->conn, &data, &len), "transmit") < 0) return -1;
        if (len == 0) return 0;
        ssize_t written = send(client->fd, data, len, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            if (errno == EINTR) continue;
            return -1;
        }
        if (check(sockeye_conn_consume(client->conn, (size_t)written), "consume") < 0) return -1;
    }
}

/* Read what the socket has; returns -1 when the socket failed. */
static int read_socket(struct client *client) {
    static uint8_t buffer[64 * 1024];
    for (;;) {
        ssize_t got = recv(client->fd, buffer, sizeof buffer, 0);
        if (got > 0) {
            if (check(sockeye_conn_receive(client->conn, buffer, (size_t)got), "receive") < 0)
                return -1;
            /* Drain after every input so echoes are queued in order. */
            drain_events(client->conn);
            continue;
        }
        if (got == 0) {
            check(sockeye_conn_receive_eof(client->conn), "receive_eof");
            drain_events(client->conn);
            return 0;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno == EINTR) continue;
        return -1;
    }
}

static void configure(void) {
    if (check(sockeye_config_new(&config), "config_new") < 0) exit(1);
    /* Autobahn's 9.* cases send messages and frames of up to 16 MiB. */
    struct { uint32_t option; uint64_t value; } options[] = {
        { SOCKEYE_OPTION_MAX_FRAME_SIZE, 64u << 20 },
        { SOCKEYE_OPTION_MAX_MESSAGE_SIZE, 64u << 20 },
        { SOCKEYE_OPTION_WRITE_HIGH_WATER_MARK, 32u << 20 },
        { SOCKEYE_OPTION_CLOSE_TIMEOUT_MS, 5000 },
    };
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        if (check(sockeye_config_set(config, options[i].option, options[i].value), "config_set") < 0)
            exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: echo_server HOST:PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    configure();
    int listener = listen_on(argv[1]);
    fprintf(stderr, "echo_server: listening on %s\n", argv[1]);

    struct pollfd *fds = NULL;
    for (;;) {
        /* One slot for the listener, one per client; the timeout is the
         * earliest deadline any handle asked for. */
        fds = realloc(fds, (client_count + 1) * sizeof *fds);
        if (fds == NULL) die("realloc");
        fds[0] = (struct pollfd){ .fd = listener, .events = POLLIN };
        uint64_t now = now_ms();
        uint64_t wake = SOCKEYE_NO_TIMEOUT;
        for (size_t i = 0; i < client_count; i++) {
            size_t queued = 0;
            bool blocked = false;
            uint64_t deadline = SOCKEYE_NO_TIMEOUT;
            check(sockeye_conn_buffered_amount(clients[i].conn, &queued), "buffered_amount");
            check(sockeye_conn_is_write_blocked(clients[i].conn, &blocked), "is_write_blocked");
            check(sockeye_conn_next_timeout_ms(clients[i].conn, &deadline), "next_timeout_ms");
            if (deadline < wake) wake = deadline;
            /* Backpressure: stop reading while the peer is not taking our output. */
            short events = blocked ? 0 : POLLIN;
            if (queued > 0) events |= POLLOUT;
            fds[i + 1] = (struct pollfd){ .fd = clients[i].fd, .events = events };
        }
        int timeout = -1;
        if (wake != SOCKEYE_NO_TIMEOUT) timeout = wake <= now ? 0 : (int)(wake - now > 60000 ? 60000 : wake - now);

        if (poll(fds, client_count + 1, timeout) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        now = now_ms();
        size_t polled = client_count;
        /* Walk backwards: dropping a client moves the last one into its slot. */
        for (size_t i = polled; i-- > 0;) {
            struct client *client = &clients[i];
            short revents = fds[i + 1].revents;
            int failed = 0;
            if (revents & (POLLIN | POLLHUP | POLLERR)) failed = read_socket(client) < 0;
            check(sockeye_conn_handle_timeout(client->conn, now), "handle_timeout");
            drain_events(client->conn);
            if (!failed) failed = flush(client) < 0;

            sockeye_state state = SOCKEYE_STATE_OPEN;
            size_t queued = 0;
            check(sockeye_conn_state(client->conn, &state), "state");
            check(sockeye_conn_buffered_amount(client->conn, &queued), "buffered_amount");
            if (failed || (state == SOCKEYE_STATE_CLOSED && queued == 0)) drop_client(i);
        }
        if (fds[0].revents & POLLIN) accept_clients(listener);
    }
}
