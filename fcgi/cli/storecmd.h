/*
 * storecmd.h: promptpix store migrate: copy the images of a local store
 * ([store] dir) into the bucket of [store] mode = s3, each under its
 * key, with the progress on stderr. An object already in the bucket is
 * left as it is (asked with HEAD), so a run cut short is run again and
 * copies only the rest. The local files are not touched.
 */
#ifndef PP_STORECMD_H
#define PP_STORECMD_H

struct cfg;

/*
 * promptpix store migrate [-c FILE]. Returns the exit status: 0 every
 * image is in the bucket; 1 some could not be copied (each said on
 * stderr), the bucket's self-check failed, or dir cannot be read; 2 bad
 * usage, or a configuration whose mode is not s3.
 */
int	storecmd_store(const struct cfg *, int argc, char **argv);

#endif
