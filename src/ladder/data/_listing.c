/* Listing a dataset folder in C: every regular file's relative path, size, mtime and inode.
 *
 * An unchanged re-add of a folder costs its listing, one lstat per file. In
 * Python, the objects made for each entry (the DirEntry, its stat result, the
 * path strings) cost as much again as the system call; here the whole walk runs
 * without the GIL and hands back four flat buffers:
 *
 *   names   relative paths, '/'-separated, joined by NUL, in byte order
 *   sizes   int64 per file, native byte order (an array('q'))
 *   mtimes  int64 nanoseconds per file
 *   inodes  uint64 per file
 *
 * Entries are visited in the order of their full relative paths (a folder
 * sorts as its name followed by '/'), so the names come out sorted as Python
 * sorts the decoded paths when they are UTF-8.
 *
 * Anything the Python walker handles with its own checks and messages (a
 * symlink, a special file, an unreadable folder, a folder deeper than
 * MAX_DEPTH) makes scan() return None: the caller then walks in Python. So
 * does a file that stops being a regular file while it is listed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 200

#ifdef __APPLE__
#define MTIME(st) ((st)->st_mtimespec)
#else
#define MTIME(st) ((st)->st_mtim)
#endif

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buffer;

static int buffer_put(buffer *b, const void *bytes, size_t n) {
    if (n == 0) return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return 0;
}

typedef struct {
    char *name;
    size_t len;
    int is_dir;
} entry;

/* The outcome of a walk: OK, FALLBACK (let Python walk it) or NO_MEMORY. */
enum { OK = 0, FALLBACK = 1, NO_MEMORY = 2 };

typedef struct {
    buffer names, sizes, mtimes, inodes;
    buffer prefix; /* the relative path of the folder being walked, with a trailing '/' */
    size_t count;
} walk;

/* Order of full relative paths: a folder compares as its name followed by '/'. */
static int compare_entries(const void *left, const void *right) {
    const entry *a = left, *b = right;
    size_t shortest = a->len < b->len ? a->len : b->len;
    int head = memcmp(a->name, b->name, shortest);
    if (head != 0) return head;
    int next_a = a->len > shortest ? (unsigned char)a->name[shortest] : (a->is_dir ? '/' : -1);
    int next_b = b->len > shortest ? (unsigned char)b->name[shortest] : (b->is_dir ? '/' : -1);
    return (next_a > next_b) - (next_a < next_b);
}

static void free_entries(entry *entries, size_t count) {
    for (size_t i = 0; i < count; i++) free(entries[i].name);
    free(entries);
}

static int put_file(walk *w, const char *name, size_t len, const struct stat *st) {
    int64_t size = (int64_t)st->st_size;
    int64_t mtime = (int64_t)MTIME(st).tv_sec * 1000000000LL + (int64_t)MTIME(st).tv_nsec;
    uint64_t inode = (uint64_t)st->st_ino;
    if (w->count && buffer_put(&w->names, "", 1)) return NO_MEMORY;
    if (buffer_put(&w->names, w->prefix.data, w->prefix.len) ||
        buffer_put(&w->names, name, len) || buffer_put(&w->sizes, &size, sizeof size) ||
        buffer_put(&w->mtimes, &mtime, sizeof mtime) ||
        buffer_put(&w->inodes, &inode, sizeof inode))
        return NO_MEMORY;
    w->count++;
    return OK;
}

/* Walk the folder open as `fd` (closed here), whose relative path is w->prefix. */
static int walk_folder(walk *w, int fd, int depth) {
    DIR *folder = fdopendir(fd);
    if (folder == NULL) {
        close(fd);
        return FALLBACK;
    }
    entry *entries = NULL;
    size_t count = 0, cap = 0;
    int outcome = OK;
    struct dirent *found;
    errno = 0;
    while ((found = readdir(folder)) != NULL) {
        const char *name = found->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        int is_dir;
        if (found->d_type == DT_REG) {
            is_dir = 0;
        } else if (found->d_type == DT_DIR) {
            is_dir = 1;
        } else if (found->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                outcome = FALLBACK;
                break;
            }
            if (S_ISREG(st.st_mode)) {
                is_dir = 0;
            } else if (S_ISDIR(st.st_mode)) {
                is_dir = 1;
            } else {
                outcome = FALLBACK;
                break;
            }
        } else {
            outcome = FALLBACK; /* a symlink or a special file */
            break;
        }
        if (count == cap) {
            size_t grown_cap = cap ? cap * 2 : 64;
            entry *grown = realloc(entries, grown_cap * sizeof(entry));
            if (grown == NULL) {
                outcome = NO_MEMORY;
                break;
            }
            entries = grown;
            cap = grown_cap;
        }
        size_t len = strlen(name);
        char *copy = malloc(len + 1);
        if (copy == NULL) {
            outcome = NO_MEMORY;
            break;
        }
        memcpy(copy, name, len + 1); /* with its NUL: fstatat and openat take it */
        entries[count++] = (entry){copy, len, is_dir};
        errno = 0;
    }
    if (outcome == OK && errno != 0) outcome = FALLBACK; /* readdir failed */
    if (outcome == OK && count) qsort(entries, count, sizeof(entry), compare_entries);
    for (size_t i = 0; outcome == OK && i < count; i++) {
        entry *e = &entries[i];
        if (!e->is_dir) {
            struct stat st;
            if (fstatat(fd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
                outcome = FALLBACK; /* gone, unreadable or replaced: Python says which */
                break;
            }
            outcome = put_file(w, e->name, e->len, &st);
            continue;
        }
        if (depth >= MAX_DEPTH) {
            outcome = FALLBACK;
            break;
        }
        int child = openat(fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) {
            outcome = FALLBACK;
            break;
        }
        size_t mark = w->prefix.len;
        if (buffer_put(&w->prefix, e->name, e->len) || buffer_put(&w->prefix, "/", 1)) {
            close(child);
            outcome = NO_MEMORY;
            break;
        }
        outcome = walk_folder(w, child, depth + 1);
        w->prefix.len = mark;
    }
    free_entries(entries, count);
    closedir(folder);
    return outcome;
}

static void free_walk(walk *w) {
    free(w->names.data);
    free(w->sizes.data);
    free(w->mtimes.data);
    free(w->inodes.data);
    free(w->prefix.data);
}

static PyObject *as_bytes(const buffer *b) {
    return PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
}

PyDoc_STRVAR(scan_doc,
             "scan(root) -> (names, sizes, mtimes, inodes) | None\n\n"
             "List every regular file under the folder `root` (str or bytes), without following\n"
             "symlinks: NUL-joined relative paths in path order, then native int64 sizes,\n"
             "int64 mtimes in nanoseconds and uint64 inodes. None when the folder holds\n"
             "anything but regular files and folders, or cannot be read: walk it in Python.");

static PyObject *scan(PyObject *Py_UNUSED(module), PyObject *arg) {
    PyObject *encoded = NULL;
    if (!PyUnicode_FSConverter(arg, &encoded)) return NULL;
    const char *root = PyBytes_AS_STRING(encoded);
    walk w = {0};
    int outcome;
    Py_BEGIN_ALLOW_THREADS
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    outcome = fd < 0 ? FALLBACK : walk_folder(&w, fd, 0);
    Py_END_ALLOW_THREADS
    Py_DECREF(encoded);
    PyObject *result = NULL;
    if (outcome == NO_MEMORY) {
        PyErr_NoMemory();
    } else if (outcome == FALLBACK) {
        result = Py_NewRef(Py_None);
    } else {
        PyObject *parts[4] = {as_bytes(&w.names), as_bytes(&w.sizes), as_bytes(&w.mtimes),
                              as_bytes(&w.inodes)};
        if (parts[0] && parts[1] && parts[2] && parts[3])
            result = PyTuple_Pack(4, parts[0], parts[1], parts[2], parts[3]);
        for (int i = 0; i < 4; i++) Py_XDECREF(parts[i]);
    }
    free_walk(&w);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_O, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef listing_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_listing",
    .m_doc = "A dataset folder's listing in C (see ladder.data.snapshot).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__listing(void) { return PyModule_Create(&listing_module); }
