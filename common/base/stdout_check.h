/* stdout_check.h — a stage whose standard output could not be written fails.
 *
 * printf to a full disk (`> /dev/full`), a closed descriptor (`>&-`) or a
 * broken pipe reports nothing by itself: the bytes sit in stdio's buffer and
 * are lost at exit while the stage exits 0. stdout_check_at_exit() arranges
 * (once, with atexit) that at exit standard output is flushed and closed and,
 * if any write to it failed, "prog: standard output: <why>" is printed and
 * the process exits 1 instead (the approach of gnulib's close_stdout).
 * log_set_program() calls it, so every stage has it.
 */
#ifndef STL_STDOUT_CHECK_H
#define STL_STDOUT_CHECK_H

#ifdef __cplusplus
extern "C" {
#endif

void stdout_check_at_exit(void);

#ifdef __cplusplus
}
#endif

#endif
