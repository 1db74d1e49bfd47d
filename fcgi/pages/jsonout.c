/*
 * jsonout.c: JSON answers for the stats and history endpoints (see
 * jsonout.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "request.h"
#include "jsonout.h"
#include "util.h"

#define JSON_TYPE	"application/json; charset=utf-8"

json_object *
json_u64(uint64_t v)
{
	return xchk(json_object_new_uint64(v));
}

json_object *
json_decimal(const char *text)
{
	return xchk(json_object_new_double_s(strtod(text, NULL),
	    text[0] != '\0' ? text : "0"));
}

json_object *
json_ms_or_null(int64_t ms)
{
	return ms < 0 ? NULL : xchk(json_object_new_int64(ms));
}

void
json_send(struct rq *rq, int status, const char *hname, const char *hvalue,
    json_object *obj)
{
	const char	*text;
	char		*line;
	size_t		 len;

	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN,
	    &len);
	if (text == NULL) {
		fprintf(stderr, "promptpix: out of memory (json)\n");
		abort();
	}
	line = xmalloc(len + 1);
	memcpy(line, text, len);
	line[len] = '\n';
	http_send(rq, status, JSON_TYPE, hname, hvalue, line, len + 1);
	free(line);
	json_object_put(obj);
}

void
json_fail(struct rq *rq, int status, const char *hname, const char *hvalue,
    const char *msg)
{
	json_object	*o = xchk(json_object_new_object());

	json_object_object_add(o, "success",
	    xchk(json_object_new_boolean(0)));
	json_object_object_add(o, "error", xchk(json_object_new_string(msg)));
	json_send(rq, status, hname, hvalue, o);
}
