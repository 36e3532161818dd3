#ifndef TSPOD_REMOVE_TREE_H
#define TSPOD_REMOVE_TREE_H

/* Removes PATH and all below it without leaving its file system; missing is done. 0, or -1
 * with errno (EXDEV: something below is mounted). */
int tspod_remove_tree (const char *path);

#endif
