/* report_index.h — the sections of stl-report's index page.
 *
 * The metrics table (stl-eval's JSON: Recall/HitRate@K, MRR and AUC for the
 * model, the exact and the simulated random recommender, and the ratio), the
 * training and eval curves of stl-train's metrics.jsonl as inline SVG, and
 * the run's configuration (the triplets file's parameters and counts, the
 * model's metadata sidecar, the evaluation's inputs), each appended to an
 * open html_doc. Every string from a file is escaped.
 */
#ifndef STL_REPORT_INDEX_H
#define STL_REPORT_INDEX_H

#include "base/error.h"
#include "formats/eval_file.h"
#include "report/html.h"
#include "report/report_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The metrics table of stl-eval's JSON m (formats/eval_file.h). */
void report_index_metrics(html_doc *d, const eval_file *m);
/* The curves of metrics.jsonl at path: x = "step", one curve per numeric
 * field whose name holds `loss` (chart 1) or `acc`/`auc` (chart 2), read by
 * formats/train_log.h. */
int report_index_curves(html_doc *d, const char *path, stl_error *err);
/* The configuration tables: triplets, model metadata, evaluation. */
void report_index_config(html_doc *d, const report *r);

#ifdef __cplusplus
}
#endif

#endif
