/* validate.h — is a downloaded body a whole JPEG worth keeping?
 *
 * A body streams through a validate_probe as it arrives (its first three and
 * last two bytes and its length), so the check needs no second read. A body
 * is kept only when: the Content-Type (HTTP only) is an image type; the
 * length matches a Content-Length the server declared; it is not larger than
 * --max-bytes; it starts with a JPEG SOI marker and the first byte of
 * another marker (FF D8 FF); and it ends with the EOI marker (FF D9). The
 * same markers and bound decide whether a file already on disk may be kept
 * when a run resumes. Anything else is a failed validation: retried, never
 * stored.
 */
#ifndef STL_VALIDATE_H
#define STL_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    unsigned char head[3];
    unsigned char tail[2];
    uint64_t bytes;
} validate_probe;

typedef enum {
    VALIDATE_OK,
    VALIDATE_NOT_IMAGE, /* Content-Type missing or not image/... */
    VALIDATE_LENGTH,    /* length differs from the declared Content-Length */
    VALIDATE_TOO_LARGE, /* over --max-bytes */
    VALIDATE_EMPTY,     /* no bytes */
    VALIDATE_NOT_JPEG,  /* does not start FF D8 FF */
    VALIDATE_NO_EOI,    /* does not end FF D9: cut short */
    VALIDATE_UNREADABLE, /* a file on disk could not be read */
    VALIDATE_MISSING     /* validate_file: there is no such file */
} validate_status;

void validate_probe_init(validate_probe *p);
void validate_probe_add(validate_probe *p, const void *data, size_t n);

/* content_type: the response's Content-Type, or NULL when the transfer was
 * not HTTP (file://); content_length: declared length, or -1 when none. */
validate_status validate_body(const validate_probe *p, const char *content_type,
                              int64_t content_length, uint64_t max_bytes);

/* A file already on disk: markers and size bound. *size gets its size (0
 * when it does not exist: then the status is VALIDATE_MISSING). */
validate_status validate_file(const char *path, uint64_t max_bytes, uint64_t *size);

/* "ok", "not an image", "length mismatch", ... for logs and messages. */
const char *validate_status_name(validate_status s);

#ifdef __cplusplus
}
#endif

#endif
