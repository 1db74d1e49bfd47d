/*
 * form.c: fields of a urlencoded form; see form.h.
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "text.h"
#include "util.h"

int
form_get(const char *form, size_t len, const char *name, char *out,
    size_t outsz)
{
	size_t	 nlen = strlen(name), n, i = 0;
	long	 m;
	char	*tmp;

	while (form != NULL && i < len) {
		n = 0;
		while (i + n < len && form[i + n] != '&')
			n++;
		if (n > nlen && strncmp(form + i, name, nlen) == 0 &&
		    form[i + nlen] == '=') {
			tmp = xmalloc(n - nlen);
			m = text_pct_decode(tmp, form + i + nlen + 1,
			    n - nlen - 1);
			if (m < 0 || (size_t)m != strlen(tmp) ||
			    (size_t)m >= outsz) {
				free(tmp);
				return -1;
			}
			memcpy(out, tmp, (size_t)m + 1);
			free(tmp);
			return 1;
		}
		if (n == nlen && strncmp(form + i, name, nlen) == 0) {
			if (outsz == 0)
				return -1;
			out[0] = '\0';
			return 1;
		}
		i += n + 1;
	}
	return 0;
}
