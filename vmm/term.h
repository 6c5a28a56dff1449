/*
 * The controlling terminal: raw mode while a guest console is attached,
 * restored on every exit path (normal exit, fatal signal, seccomp kill).
 */
#ifndef EVMM_TERM_H
#define EVMM_TERM_H

/* Puts fd in raw mode if it is a terminal; 1 if it did, 0 if not a tty. */
int term_raw(int fd);
/* The fd term_raw() put in raw mode, or -1 (the seccomp filters allow it). */
int term_get_fd(void);
/* Restores the saved mode; async-signal-safe, idempotent. */
void term_restore(void);

#endif
