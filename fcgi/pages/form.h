/*
 * form.h: reading the fields of application/x-www-form-urlencoded text
 * (a query string, or the body of a POSTed form). Pure.
 */
#ifndef PP_FORM_H
#define PP_FORM_H

#include <stddef.h>

/*
 * The decoded value of the first field name in form[0..len) into out
 * (outsz bytes). Returns 1 found, 0 absent, -1 malformed (a bad escape,
 * a NUL inside, or longer than out).
 */
int	form_get(const char *form, size_t len, const char *name, char *out,
	    size_t outsz);

#endif
