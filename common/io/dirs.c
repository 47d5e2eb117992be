/* dirs.c — mkdir -p (see dirs.h). */
#include "io/dirs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int dirs_create(const char *path, stl_error *err) { return dirs_create_below(path, 0, err); }

int dirs_create_below(const char *path, size_t known, stl_error *err) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) return stl_fail(err, "%s: bad directory name", path);
    if (known > len) known = len;
    memcpy(buf, path, len + 1);
    int made = 0; /* the last mkdir created the directory: no need to look again */
    for (size_t i = known + 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            made = mkdir(buf, 0755) == 0;
            if (!made && errno != EEXIST)
                return stl_fail(err, "%s: cannot create directory: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    if (made) return 0;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return stl_fail(err, "%s: not a directory", path);
    return 0;
}
