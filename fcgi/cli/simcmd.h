/*
 * simcmd.h: promptpix similar-index: file the images made before
 * [similar] threshold was set (or while it was 0) in the similar index.
 * Safe to run again, and while the responder serves.
 */
#ifndef PP_SIMCMD_H
#define PP_SIMCMD_H

struct cfg;

int	simcmd_index(const struct cfg *, int argc, char **argv);

#endif
