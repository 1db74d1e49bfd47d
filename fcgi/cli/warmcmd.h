/*
 * warmcmd.h: `promptpix warm`, the batch pre-generation of a world's
 * list of image URLs before players arrive.
 *
 *   promptpix warm [-c FILE] [--dry-run] [--sign [--key ID]] [--wait]
 *                  [--skip-bad] LIST
 *
 * LIST is a file, or "-" for standard input: one image URL a line, as
 * the world bakes it. Each distinct image is elected exactly as a
 * request is (ballot.h: the same statement, the same hash), in the
 * batch class, and left to the responders' generation workers; with
 * --wait the command follows them to the end with a progress bar.
 *
 * Exit status: 0 when every line is ok or exists (without --wait: none
 * failed; queued is not a failure); 1 when a line failed, the database
 * went away, or the wait was interrupted (130 for Ctrl-C); 2 on bad
 * usage or a bad line (nothing queued).
 */
#ifndef PP_WARMCMD_H
#define PP_WARMCMD_H

struct cfg;

int	warmcmd_warm(const struct cfg *, int argc, char **argv);

#endif
