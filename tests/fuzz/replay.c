/*
 * replay.c: a main() for a libFuzzer target without libFuzzer. Runs
 * LLVMFuzzerTestOneInput() once on each file named on the command line,
 * or on each file inside a named directory: the committed regression
 * corpus is replayed this way by `make test`, in the plain build and in
 * the sanitizer build. A crash or sanitizer report ends the run; else it
 * prints how many inputs it ran and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
run_file(const char *path)
{
	FILE	*fp;
	uint8_t	*buf;
	long	 len;

	if ((fp = fopen(path, "rb")) == NULL || fseek(fp, 0, SEEK_END) != 0 ||
	    (len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	/* Exactly len bytes, so that ASan sees a read past the input. */
	if ((buf = malloc(len > 0 ? (size_t)len : 1)) == NULL ||
	    fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 path[4096];
	unsigned	 n = 0;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) == -1)
				return 2;
			n++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 2;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    de->d_name);
			if (run_file(path) == -1) {
				closedir(d);
				return 2;
			}
			n++;
		}
		closedir(d);
	}
	printf("replay: %u inputs, no crash\n", n);
	return 0;
}
