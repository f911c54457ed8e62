/* uuid.c - random (v4) UUIDs from libsodium, and canonical-form checks. */
#include "uuid.h"

#include <sodium.h>

#include "arena.h"

static void ensure_sodium(void)
{
    static int ready;
    if (!ready) {
        if (sodium_init() < 0)
            sl_panic("sodium_init failed");
        ready = 1;
    }
}

void uuid_v4(char out[UUID_STRLEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    ensure_sodium();
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx */
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }
    *p = '\0';
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int uuid_valid(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < UUID_STRLEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            return 0; /* also stops at a NUL before 36 characters */
        }
    }
    return s[UUID_STRLEN] == '\0';
}
