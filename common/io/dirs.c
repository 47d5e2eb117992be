/* dirs.c — mkdir -p (see dirs.h). */
#include "io/dirs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int dirs_create(const char *path, stl_error *err) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) return stl_fail(err, "%s: bad directory name", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return stl_fail(err, "%s: cannot create directory: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return stl_fail(err, "%s: not a directory", path);
    return 0;
}
