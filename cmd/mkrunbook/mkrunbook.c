/*
 * mkrunbook — the review report and the production runbook, in Markdown.
 *
 * usage: mkrunbook [--review | --runbook] [options] [FILE.ndjson ...] [< records.ndjson]
 * Reads the whole record stream (files named, else stdin): lockscore's
 * statement, finding and risk records (required: a risk per migration),
 * and when present migration (forward and rollback SQL, irreversible
 * steps), trace, plan, rollback_check, sample, shadow, table and source
 * records. Unknown kinds are ignored.
 *
 * Writes a document, not records: it is the end of the pipeline, so
 * nothing is forwarded. --review: the pull-request report (risk, statements
 * and locks, findings and fixes, plan changes, row counts, rollback check,
 * irreversible steps, how to reproduce), cut at block boundaries to fit
 * GitHub's 65,536-character comment limit. --runbook (default): pre-flight
 * checks with their SQL, the exact migration SQL with lock_timeout and
 * statement_timeout, what to do on a lock timeout, expected durations, the
 * thresholds metricwatch watches, the rollback and when not to use it, who
 * to tell. --svg FILE also writes the lock timeline as SVG.
 *
 * The document goes to stdout, unless sent elsewhere (--out, --step-summary,
 * --github-comment, --github-release); stdout is written last, so a failed
 * publish leaves it empty.
 * Files (--out, --svg) are written whole through a temporary file renamed
 * over them, and --step-summary appends; none is written through a
 * symbolic link (refused, exit 4).
 * Exit: 0 ok; 2 usage (or a missing GitHub setting); 3 GitHub or write
 * failure (status and message shown, never the token); 4 invalid input,
 * or an output file that is a symbolic link.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "mkrunbook.h"
#include "msg.h"
#include "opt.h"
#include "wfile.h"
#include "xalloc.h"

static const char usage_text[] =
	"usage: mkrunbook [--review | --runbook] [options] [FILE.ndjson ...] [< records.ndjson]\n"
	"Turn the review records (lockscore, applyexplain, mkshadow, nl2mig) into Markdown:\n"
	"the pull-request review report, or the production runbook (the default).\n"
	"\n"
	"  --review                 the review report (pull-request comment)\n"
	"  --runbook                the production runbook (release note; default)\n"
	"  -o, --out FILE           write the document to FILE instead of stdout\n"
	"  --svg FILE               also write the lock timeline as SVG\n"
	"  --svg-url URL            show the timeline from URL in the review\n"
	"  --max-chars N            cut the review at N bytes (default 65536, GitHub's limit)\n"
	"\n"
	"Runbook settings:\n"
	"  --lock-timeout DUR       lock_timeout for the migration and rollback (default 2s)\n"
	"  --statement-timeout DUR  statement_timeout (default 3x the slowest statement, >= 1min)\n"
	"  --max-lock-wait DUR      metricwatch's lock-wait threshold (default 5s)\n"
	"  --error-spike X          metricwatch's error-rate factor over the baseline (default 3)\n"
	"  --cooldown DUR           how long a breach lasts before action (default 30s)\n"
	"  --notify WHO             who to tell (repeatable), e.g. '#db-oncall'\n"
	"  DUR is a number of seconds, or with a unit: 500ms, 2s, 5min, 1h.\n"
	"\n"
	"Publishing (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL from the environment):\n"
	"  --github-comment         create or update the pull request's comment\n"
	"  --pr N                   the pull request (default: from GITHUB_EVENT_PATH)\n"
	"  --github-release TAG     create release TAG whose body is the runbook\n"
	"  --step-summary           append to $GITHUB_STEP_SUMMARY\n"
	"  --marker NAME            the hidden marker that finds the comment again\n"
	"                           (default migsafe:review or migsafe:runbook)\n"
	"  --http-timeout DUR       per request to GitHub (default 30s)\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit: 0 ok, 2 usage, 3 GitHub or write failure, 4 invalid input.\n";

/* A duration option in ms, from 1 ms to a week. */
static double parse_duration(const char *opt, const char *s)
{
	return opt_duration(opt, s, 1, OPT_WEEK_MS);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	enum { O_REVIEW = 256,
	       O_RUNBOOK,
	       O_SVG,
	       O_SVGURL,
	       O_MAXC,
	       O_LOCKTO,
	       O_STMTTO,
	       O_MAXLW,
	       O_SPIKE,
	       O_COOL,
	       O_NOTIFY,
	       O_GHC,
	       O_PR,
	       O_GHR,
	       O_SUMMARY,
	       O_MARKER,
	       O_HTTPTO };
	static const struct option longopts[] = {
		{"review", no_argument, NULL, O_REVIEW},
		{"runbook", no_argument, NULL, O_RUNBOOK},
		{"out", required_argument, NULL, 'o'},
		{"svg", required_argument, NULL, O_SVG},
		{"svg-url", required_argument, NULL, O_SVGURL},
		{"max-chars", required_argument, NULL, O_MAXC},
		{"lock-timeout", required_argument, NULL, O_LOCKTO},
		{"statement-timeout", required_argument, NULL, O_STMTTO},
		{"max-lock-wait", required_argument, NULL, O_MAXLW},
		{"error-spike", required_argument, NULL, O_SPIKE},
		{"cooldown", required_argument, NULL, O_COOL},
		{"notify", required_argument, NULL, O_NOTIFY},
		{"github-comment", no_argument, NULL, O_GHC},
		{"pr", required_argument, NULL, O_PR},
		{"github-release", required_argument, NULL, O_GHR},
		{"step-summary", no_argument, NULL, O_SUMMARY},
		{"marker", required_argument, NULL, O_MARKER},
		{"help", no_argument, NULL, 'h'},
		{"http-timeout", required_argument, NULL, O_HTTPTO},
		{NULL, 0, NULL, 0},
	};
	int ch, modes = 0;
	memset(o, 0, sizeof(*o));
	o->max_chars = 65536;
	o->lock_timeout_ms = 2000;
	o->max_lock_wait_ms = 5000;
	o->cooldown_ms = 30000;
	o->error_spike = 3;
	o->http_timeout_ms = 30000;
	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case O_REVIEW: o->review = true, modes |= 1; break;
		case O_RUNBOOK: o->review = false, modes |= 2; break;
		case 'o': o->out = optarg; break;
		case O_SVG: o->svg = optarg; break;
		case O_SVGURL: o->svg_url = optarg; break;
		case O_MAXC: o->max_chars = (size_t)opt_int("--max-chars", optarg, 2000, 1048576); break;
		case O_LOCKTO: o->lock_timeout_ms = parse_duration("--lock-timeout", optarg); break;
		case O_STMTTO: o->statement_timeout_ms = parse_duration("--statement-timeout", optarg); break;
		case O_MAXLW: o->max_lock_wait_ms = parse_duration("--max-lock-wait", optarg); break;
		case O_COOL: o->cooldown_ms = parse_duration("--cooldown", optarg); break;
		case O_HTTPTO: o->http_timeout_ms = opt_duration("--http-timeout", optarg, 1, 3600000); break;
		case O_SPIKE: o->error_spike = opt_num_above("--error-spike", optarg, 1, 1000); break;
		case O_NOTIFY: strv_push(&o->notify, optarg); break;
		case O_GHC: o->gh_comment = true; break;
		case O_PR: o->pr = opt_int("--pr", optarg, 1, INT_MAX); break;
		case O_GHR:
			if (!*optarg)
				usage_error("--github-release takes a tag name");
			o->gh_release = optarg;
			break;
		case O_SUMMARY: o->step_summary = true; break;
		case O_MARKER:
			if (!*optarg || strstr(optarg, "--") || strchr(optarg, '>') || strchr(optarg, '\n'))
				usage_error("--marker must be plain text that can sit in an HTML comment");
			o->marker = optarg;
			break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
	if (modes == 3)
		usage_error("--review and --runbook: choose one document");
	if (o->gh_release && o->review)
		usage_error("--github-release publishes the runbook; run it without --review");
	if (o->lock_timeout_ms >= o->max_lock_wait_ms)
		usage_error("--lock-timeout must be shorter than --max-lock-wait: a migration waiting longer for its lock "
			    "is itself the breach metricwatch reacts to");
	if (o->step_summary && (!getenv("GITHUB_STEP_SUMMARY") || !*getenv("GITHUB_STEP_SUMMARY")))
		usage_error("--step-summary needs GITHUB_STEP_SUMMARY in the environment");
	if (o->gh_comment || o->gh_release)
		github_check(o);
	if (!o->marker)
		o->marker = o->review ? "migsafe:review" : "migsafe:runbook";
}

static void read_input(struct model *m, int argc, char **argv)
{
	if (optind == argc) {
		if (isatty(STDIN_FILENO))
			usage_error("no input: pipe lockscore's records into mkrunbook, or name NDJSON files");
		model_read(m, stdin, "<stdin>");
		model_finish(m, "<stdin>");
		return;
	}
	for (int i = optind; i < argc; i++) {
		FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;
		if (!f)
			die_code(EXIT_INPUT, "%s: %s", argv[i], strerror(errno));
		model_read(m, f, strcmp(argv[i], "-") ? argv[i] : "<stdin>");
		if (f != stdin)
			fclose(f);
	}
	model_finish(m, argc - optind == 1 ? argv[optind] : "<input>");
}

/* write_file: text to path, complete or not at all (wfile.h: a temporary
 * file of an unpredictable name renamed into place, never through a
 * symbolic link); append mode adds it, and a newline, to the end instead. */
static void write_file(const char *path, const char *text, bool append)
{
	struct msg_err err = MSG_ERR_INIT;
	if (!append) {
		if (wfile_write(path, text, strlen(text), 0) != 0)
			die_err(wfile_error(&err, path, errno));
		return;
	}
	char *line = xasprintf("%s\n", text);
	if (wfile_append(path, line, strlen(line)) != 0)
		die_err(wfile_error(&err, path, errno));
	free(line);
}

/* visible: text (taken) with no raw control character left (buf.h's
 * buf_add_visible): the documents reach terminals and GitHub, and their
 * SQL, names and messages come from records, files and models. The review
 * is cleaned block by block already (doc.c, within its size budget); this
 * covers what the runbook and the SVG add directly. */
static char *visible(char *text)
{
	size_t n = strlen(text);
	if (text_visible(text, n))
		return text;
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_add_visible(&b, text, n);
	free(text);
	return buf_detach(&b);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct model m = {0};
	msg_set_prog(argv[0]);
	db_hide_argv_secrets(argc, argv);
	xalloc_init_cjson();
	parse_opts(&o, argc, argv);
	read_input(&m, argc, argv);
	char *doc = visible(o.review ? review_doc(&m, &o) : runbook_doc(&m, &o));
	if (o.svg) {
		char *svg = visible(svg_timeline(&m));
		write_file(o.svg, svg, false);
		free(svg);
	}
	if (o.gh_release && strlen(doc) > 125000) /* GitHub refuses longer release bodies */
		die_code(EXIT_RUNTIME, "the runbook is %zu bytes, over GitHub's 125,000-character release body limit: "
				       "write it with --out and attach it to the release",
			 strlen(doc));
	if (o.out)
		write_file(o.out, doc, false);
	if (o.step_summary) {
		write_file(getenv("GITHUB_STEP_SUMMARY"), doc, true);
	}
	if (o.gh_comment)
		github_comment(&o, doc);
	if (o.gh_release)
		github_release(&o, doc);
	if (!o.out && !o.step_summary && !o.gh_comment && !o.gh_release) {
		size_t n = strlen(doc);
		if (fwrite(doc, 1, n, stdout) != n || fflush(stdout) == EOF || ferror(stdout))
			die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	}
	free(doc);
	model_release(&m);
	strv_release(&o.notify);
	return EXIT_OK;
}
