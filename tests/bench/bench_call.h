/* mcsec-bench call: the media path of group calls (bench_call_media.c). */
#ifndef MCSEC_BENCH_CALL_H
#define MCSEC_BENCH_CALL_H

/* Times SRTP protect and unprotect through mcsec (mcsec_rtp_build/parse + mcsec_srtp_*) and
 * through raw libsrtp on the same build, rounds interleaved, for 160- and 1200-octet payloads
 * and both suites, and prints the figures as JSON fields (no braces, comma separated, with a
 * leading comma unless first_json_field): srtp_protect_pps_<size>_<suite>,
 * raw_protect_pps_..., protect_ratio_... (mcsec / raw), and likewise unprotect; suite is gcm
 * or aes_cm. 0 on success, -1 after printing why on stderr. */
int bench_call_media(int rounds, int first_json_field);

#endif
