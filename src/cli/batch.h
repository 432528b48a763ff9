/*
 * `--batch FILE|-`: one evaluation a line, JSON Lines out in input order.
 *
 * The driver reads lines, keeps those of its shard, runs them on
 * `--concurrency` worker threads that share one resolver (one cache for the
 * whole batch) and writes each line's document when every line before it
 * is written.  At most a window of lines is held at once, so memory does
 * not grow with the input.
 */
#ifndef SD_CLI_BATCH_H
#define SD_CLI_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "dns/dns.h"

/* The most a batch input line may hold (longer: an error line). */
#define SD_BATCH_LINE_MAX 4096
/* The most worker threads --concurrency may ask for. */
#define SD_BATCH_CONCURRENCY_MAX 1024

/*
 * Evaluates one line (text: the line, NUL-terminated, no newline; the
 * function may cut it up) with the batch's resolver: returns the line's
 * report, or NULL with the reason the line is bad in err.
 */
typedef sd_report *(*sd_batch_fn)(const sd_cli *cli, sd_resolver *res,
    char *text, char *err, size_t errlen);

/* How a batch's lines run (sd_cli_batch's `how`, or'ed). */
/* A line waits only where it tells it (the stub resolver's questions):
 * the lines run as many at once as there are CPUs, more while some wait
 * (jobs.h, sd_jobgroup_keep_to_cpus), never more than --concurrency. */
#define SD_BATCH_CPU_BOUND 1u
/* A line's JSON values never leave the thread that runs it (no job of its
 * own holds them): they come from an arena of that thread, freed with
 * it once the line is written (report/arena.h). */
#define SD_BATCH_ONE_THREAD 2u

/* Makes the resolver every line of a batch shares; NULL with *err saying
 * why. */
typedef sd_resolver *(*sd_batch_resolver_fn)(const sd_cli *cli,
    const char **err);

/*
 * Runs cli->batch through fn; returns the exit status.  The resolver is
 * made with make_res (NULL: the libunbound one the options describe) once
 * the options and the input passed their checks, so that a usage error is
 * exit 2 whether or not a resolver could be made.
 */
int sd_cli_batch(sd_cli *cli, sd_batch_fn fn, sd_batch_resolver_fn make_res,
    unsigned how);

/*
 * --concurrency and --shard without --batch: the usage error's status;
 * else -1.
 */
int sd_cli_batch_options(const sd_cli *cli);

/* Parses --shard I/N; 1 when valid. */
int sd_cli_shard_parse(const char *s, unsigned *i, unsigned *n);

#endif
