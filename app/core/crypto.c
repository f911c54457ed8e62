/* crypto.c - passwords, tokens and sealed secrets over libsodium (see
 * crypto.h). Nothing here logs a secret or puts one in an error message. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* OWASP's argon2id floor: 19 MiB, 2 passes. A login costs ~30 ms. */
#define PW_OPSLIMIT 2
#define PW_MEMLIMIT (19u * 1024 * 1024)
#define SEAL_PREFIX "sb1:"

sl_err cr_password_hash(arena *a, const char *password, char **hash, sl_errbuf *eb)
{
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password, strlen(password), PW_OPSLIMIT, PW_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return sl_fail(eb, SL_ECRYPTO, "password hashing failed (out of memory)");
    *hash = arena_strdup(a, out);
    sodium_memzero(out, sizeof out);
    return SL_OK;
}

int cr_password_verify(const char *hash, const char *password)
{
    if (!hash || !password || strncmp(hash, "$argon2id$", 10) != 0)
        return 0;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

char *cr_token_new(arena *a, size_t nbytes)
{
    unsigned char buf[64];
    if (nbytes > sizeof buf)
        nbytes = sizeof buf;
    randombytes_buf(buf, nbytes);
    size_t len = sodium_base64_encoded_len(nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, len);
    sodium_bin2base64(out, len, buf, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(buf, sizeof buf);
    return out;
}

char *cr_sha256_hex(arena *a, const void *s, size_t n)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, s, n);
    char *out = arena_alloc(a, sizeof h * 2 + 1);
    sodium_bin2hex(out, sizeof h * 2 + 1, h, sizeof h);
    return out;
}

int cr_equal(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return sodium_memcmp(a, b, la) == 0;
}

sl_err cr_load_key(const char *path, unsigned char key[CR_KEY_BYTES], sl_errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sl_fail(eb, SL_ECONFIG,
                       "cannot open the secret key file %s: %s (create it with `sluice key "
                       "create`, or point SLUICE_SECRET_KEY_FILE at it)",
                       path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
        close(fd);
        return sl_fail(eb, SL_ECONFIG,
                       "the secret key file %s must not be readable by group or others "
                       "(chmod 600 it)",
                       path);
    }
    char buf[130];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    /* A raw key is exactly 32 bytes, whatever they are (a trailing 0x0a is
     * key material); only a hex key may end with a newline. */
    if (n != CR_KEY_BYTES)
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
    sl_err e = SL_OK;
    if (n == CR_KEY_BYTES) {
        memcpy(key, buf, CR_KEY_BYTES);
    } else if (n == CR_KEY_BYTES * 2) {
        size_t got = 0;
        if (sodium_hex2bin(key, CR_KEY_BYTES, buf, (size_t)n, NULL, &got, NULL) != 0 ||
            got != CR_KEY_BYTES)
            e = sl_fail(eb, SL_ECONFIG, "the secret key file %s is not valid hex", path);
    } else {
        e = sl_fail(eb, SL_ECONFIG,
                    "the secret key file %s must hold 32 bytes or 64 hex characters", path);
    }
    sodium_memzero(buf, sizeof buf);
    return e;
}

sl_err cr_create_key(const char *path, sl_errbuf *eb)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return SL_OK;
        return sl_fail(eb, SL_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    unsigned char key[CR_KEY_BYTES];
    char hex[CR_KEY_BYTES * 2 + 2];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    size_t len = strlen(hex);
    hex[len++] = '\n';
    ssize_t w = write(fd, hex, len);
    int sync_rc = fsync(fd);
    close(fd);
    sodium_memzero(key, sizeof key);
    sodium_memzero(hex, sizeof hex);
    if (w != (ssize_t)len || sync_rc != 0) {
        unlink(path);
        return sl_fail(eb, SL_EIO, "cannot write %s", path);
    }
    return SL_OK;
}

char *cr_seal(arena *a, const unsigned char key[CR_KEY_BYTES], const char *plaintext)
{
    size_t plen = strlen(plaintext);
    size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
    unsigned char *box = arena_alloc(a, blen);
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext,
                          plen, box, key);
    size_t elen = sodium_base64_encoded_len(blen, sodium_base64_VARIANT_ORIGINAL);
    char *out = arena_alloc(a, sizeof SEAL_PREFIX + elen);
    memcpy(out, SEAL_PREFIX, sizeof SEAL_PREFIX - 1);
    sodium_bin2base64(out + sizeof SEAL_PREFIX - 1, elen, box, blen,
                      sodium_base64_VARIANT_ORIGINAL);
    return out;
}

sl_err cr_open(arena *a, const unsigned char key[CR_KEY_BYTES], const char *sealed, char **out,
               sl_errbuf *eb)
{
    size_t plen = strlen(SEAL_PREFIX);
    if (!sealed || strncmp(sealed, SEAL_PREFIX, plen) != 0)
        return sl_fail(eb, SL_EPARSE, "not a sealed secret");
    const char *b64 = sealed + plen;
    size_t cap = strlen(b64);
    unsigned char *box = arena_alloc(a, cap + 1);
    size_t blen = 0;
    if (sodium_base642bin(box, cap, b64, strlen(b64), NULL, &blen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return sl_fail(eb, SL_EPARSE, "sealed secret is malformed");
    size_t mlen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *msg = arena_alloc(a, mlen + 1);
    if (crypto_secretbox_open_easy((unsigned char *)msg, box + crypto_secretbox_NONCEBYTES,
                                   blen - crypto_secretbox_NONCEBYTES, box, key) != 0)
        return sl_fail(eb, SL_ECRYPTO,
                       "cannot decrypt a stored secret: the secret key does not match the one "
                       "it was stored with");
    msg[mlen] = '\0';
    *out = msg;
    return SL_OK;
}
