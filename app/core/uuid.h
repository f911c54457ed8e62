/* uuid.h - random (v4) UUIDs and validation. */
#ifndef SL_UUID_H
#define SL_UUID_H

#define UUID_STRLEN 36

/* Write a new v4 UUID, lower-case, NUL-terminated, into out. */
void uuid_v4(char out[UUID_STRLEN + 1]);
/* 1 if s is a canonical 8-4-4-4-12 hex UUID (either case), else 0. */
int uuid_valid(const char *s);

#endif
