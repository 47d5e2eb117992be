/* mapped_file.c — read-only mmap of a whole regular file (see mapped_file.h). */
#include "io/mapped_file.h"
#include "io/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int mapped_file_open(mapped_file *m, const char *path, stl_error *err) {
    m->data = NULL;
    m->size = 0;
    struct stat st;
    int fd = input_open(path, &st, err);
    if (fd < 0) return -1;
    if (st.st_size == 0) {
        close(fd);
        return stl_fail(err, "%s: empty file", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return stl_fail(err, "%s: cannot map: %s", path, strerror(e));
    m->data = map;
    m->size = (size_t)st.st_size;
    return 0;
}

void mapped_file_close(mapped_file *m) {
    if (m->data) munmap(m->data, m->size);
    m->data = NULL;
    m->size = 0;
}
