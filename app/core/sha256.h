/* sha256.h - incremental SHA-256 for large streams (landing uploads).
 *
 * On x86-64 processors with the SHA extensions the blocks are hashed with
 * them (about 1.3 GB/s a core); elsewhere everything goes to libsodium's
 * crypto_hash_sha256 (about 0.2 GB/s). Both give the same digest; which one
 * runs is decided once per process. The context is plain memory: no
 * allocation, nothing to free. Not for secrets (no constant-time promise
 * beyond what the hardware gives); use libsodium directly for MACs. */
#ifndef SL_SHA256_H
#define SL_SHA256_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

typedef struct {
    int fast;                         /* the SHA extensions hash the blocks */
    uint32_t h[8];
    unsigned char buf[64];
    size_t buflen;
    uint64_t total;                   /* bytes hashed so far */
    crypto_hash_sha256_state sodium;  /* when !fast */
} sha256_ctx;

/* Start a digest. Never fails. */
void sha256_init(sha256_ctx *c);
/* Add n bytes (n may be 0). */
void sha256_update(sha256_ctx *c, const void *p, size_t n);
/* The digest; c must be initialised again before reuse. */
void sha256_final(sha256_ctx *c, unsigned char out[SHA256_BYTES]);

/* 1 when this process hashes with the SHA extensions. */
int sha256_fast(void);
/* Tests: 1 makes new contexts use libsodium even on a CPU with the
 * extensions; 0 restores the choice. */
void sha256_force_portable(int on);

#endif
