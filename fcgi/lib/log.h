/*
 * log.h: one-line log records on stderr, which spawn-fcgi, systemd and
 * mod_fcgid all route to the web server's or the journal's error log.
 * stdout is never used: under FastCGI it is not ours.
 */
#ifndef PP_LOG_H
#define PP_LOG_H

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG__MAX
};

void	log_set_level(enum log_level);
int	log_enabled(enum log_level);
/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int	log_level_parse(const char *);
/* Write one record; rid is the request id or NULL. Thread-safe. */
void	log_msg(enum log_level, const char *rid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_error(rid, ...)	log_msg(LOG_ERROR, rid, __VA_ARGS__)
#define log_warn(rid, ...)	log_msg(LOG_WARN, rid, __VA_ARGS__)
#define log_info(rid, ...)	log_msg(LOG_INFO, rid, __VA_ARGS__)
#define log_debug(rid, ...)	log_msg(LOG_DEBUG, rid, __VA_ARGS__)

#endif
