/*
 * evmm's standard streams: the controlling terminal in raw mode while a
 * guest console is attached, and a non-blocking console output. Both are
 * undone on every exit path (normal exit, fatal signal, seccomp kill),
 * from whichever thread it starts.
 */
#ifndef EVMM_TERM_H
#define EVMM_TERM_H

/*
 * Before any other thread starts: a fatal signal (SIGSEGV, SIGABRT, ...)
 * restores the terminal, then kills evmm as it would have.
 */
int term_catch_signals(void);
/* Puts fd in raw mode if it is a terminal; 1 if it did, 0 if not a tty. */
int term_raw(int fd);
/*
 * A non-blocking fd for the console's output to fd, without changing the
 * flags of a file others share: a new open of the same pipe or terminal
 * (before any seccomp filter: they forbid open). A regular file is fd
 * itself; where a new open fails (a socket), fd is made non-blocking and
 * term_restore puts its flags back.
 */
int term_out_fd(int fd);
/*
 * The fds whose mode term_restore puts back, or -1: the terminal in raw
 * mode, and an output fd made non-blocking. Every seccomp filter allows
 * restoring them.
 */
int term_get_fd(void);
int term_get_flags_fd(void);
/* Restores the saved modes; async-signal-safe, idempotent, any thread. */
void term_restore(void);

#endif
