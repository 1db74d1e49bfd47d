/* t.h: a minimal test harness for the pure modules. */
#ifndef T_H
#define T_H

#include <stdint.h>
#include <stdio.h>

#include "flight.h"

extern int	t_passed, t_failed;

#define T_CHECK(cond, ...) do {						\
	if (cond)							\
		t_passed++;						\
	else {								\
		t_failed++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

void	test_text(void);
void	test_req(void);
void	test_hash(void);
void	test_cfg(void);
void	test_store(void);
void	test_ratelimit(void);
void	test_uri(void);
void	test_metrics(void);
void	test_token(void);
void	test_fal(void);
void	test_urlpolicy(void);
void	test_result(void);
void	test_sign(void);
void	test_flight(void);
/* A completed row told apart from others by tag (test_flight.c). */
struct flight_result	t_flight_row(int64_t tag);
void	test_park(void);
void	test_hitcache(void);
void	test_statcache(void);
void	test_schema(void);
void	test_similar(void);
void	test_warm(void);
void	test_html(void);
void	test_svg(void);
void	test_hostwait(void);
void	test_s3(void);

#endif
