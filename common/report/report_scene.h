/* report_scene.h — stl-report's scene pages and the index's links to them.
 *
 * A deterministic sample of the top-K file's scenes (with --triplets, the
 * held-out test scenes only) ordered by a seeded hash of the key, at most
 * --max-scenes of them, each gets DIR/scene/<key>.html: the scene, its top-K
 * products with rank, score and category, the held-out ground truth marked
 * and, with the embeddings, every held-out product's rank among all products
 * as stl-eval ranks them. The index gets a card per page.
 */
#ifndef STL_REPORT_SCENE_H
#define STL_REPORT_SCENE_H

#include "base/error.h"
#include "report/html.h"
#include "report/report_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Picks the sample, writes its pages and appends the index's section. */
int report_scene_section(html_doc *d, report *r, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
