#include "t.h"

int	t_passed, t_failed;

int
main(void)
{
	test_text();
	test_req();
	test_hash();
	test_cfg();
	test_store();
	test_ratelimit();
	test_uri();
	test_metrics();
	test_token();
	test_fal();
	test_urlpolicy();
	test_result();
	test_sign();
	test_flight();
	test_park();
	test_hitcache();
	test_statcache();
	test_schema();
	test_similar();
	test_warm();
	test_html();
	test_svg();
	test_hostwait();
	test_s3();
	printf("unit: %d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}
