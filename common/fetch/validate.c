/* validate.c — JPEG body checks (see validate.h). */
#include "fetch/validate.h"

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void validate_probe_init(validate_probe *p) {
    p->head[0] = p->head[1] = p->head[2] = 0;
    p->tail[0] = p->tail[1] = 0;
    p->bytes = 0;
}

void validate_probe_add(validate_probe *p, const void *data, size_t n) {
    const unsigned char *d = data;
    for (size_t i = 0; i < n && p->bytes + i < 3; i++) p->head[p->bytes + i] = d[i];
    if (n >= 2) {
        p->tail[0] = d[n - 2];
        p->tail[1] = d[n - 1];
    } else if (n == 1) {
        p->tail[0] = p->tail[1];
        p->tail[1] = d[0];
    }
    p->bytes += n;
}

static validate_status markers(const validate_probe *p, uint64_t max_bytes) {
    if (p->bytes == 0) return VALIDATE_EMPTY;
    if (p->bytes > max_bytes) return VALIDATE_TOO_LARGE;
    if (p->bytes < 3 || p->head[0] != 0xFF || p->head[1] != 0xD8 || p->head[2] != 0xFF)
        return VALIDATE_NOT_JPEG;
    if (p->bytes < 5 || p->tail[0] != 0xFF || p->tail[1] != 0xD9) return VALIDATE_NO_EOI;
    return VALIDATE_OK;
}

validate_status validate_body(const validate_probe *p, const char *content_type,
                              int64_t content_length, uint64_t max_bytes) {
    if (content_type && strncasecmp(content_type, "image/", 6) != 0) return VALIDATE_NOT_IMAGE;
    if (content_length >= 0 && (uint64_t)content_length != p->bytes) return VALIDATE_LENGTH;
    return markers(p, max_bytes);
}

validate_status validate_file(const char *path, uint64_t max_bytes, uint64_t *size) {
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? VALIDATE_MISSING : VALIDATE_UNREADABLE;
    struct stat st;
    validate_probe p;
    validate_probe_init(&p);
    validate_status s = VALIDATE_UNREADABLE;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        p.bytes = (uint64_t)st.st_size;
        if (p.bytes > max_bytes) {
            s = VALIDATE_TOO_LARGE;
        } else if (p.bytes < 5) {
            s = markers(&p, max_bytes); /* empty or too short for both markers */
            if (s == VALIDATE_OK) s = VALIDATE_NO_EOI;
        } else if (pread(fd, p.head, 3, 0) == 3 &&
                   pread(fd, p.tail, 2, st.st_size - 2) == 2) {
            s = markers(&p, max_bytes);
        }
    }
    close(fd);
    return s;
}

const char *validate_status_name(validate_status s) {
    switch (s) {
    case VALIDATE_OK: return "ok";
    case VALIDATE_NOT_IMAGE: return "Content-Type is not an image";
    case VALIDATE_LENGTH: return "length differs from Content-Length";
    case VALIDATE_TOO_LARGE: return "body over --max-bytes";
    case VALIDATE_EMPTY: return "empty body";
    case VALIDATE_NOT_JPEG: return "not a JPEG (no FF D8 FF)";
    case VALIDATE_NO_EOI: return "JPEG cut short (no FF D9 at the end)";
    case VALIDATE_UNREADABLE: return "unreadable";
    case VALIDATE_MISSING: return "no such file";
    }
    return "?";
}
