/* crypto.h - passwords, tokens and secrets at rest (libsodium).
 *
 * Passwords: argon2id (crypto_pwhash_str) at moderate cost. Tokens: random
 * 32 bytes, base64url, stored only as their SHA-256 (hex). Secrets at rest:
 * XSalsa20-Poly1305 secretbox under a 32-byte master key read from a key
 * file, stored as "sb1:" + base64(nonce || ciphertext). The binary must have
 * called sodium_init(). */
#ifndef SL_CRYPTO_H
#define SL_CRYPTO_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

#define CR_KEY_BYTES 32

/* argon2id hash of password into the arena; SL_ECRYPTO when libsodium
 * refuses (out of memory). */
sl_err cr_password_hash(arena *a, const char *password, char **hash, sl_errbuf *eb);
/* 1 when password matches hash, 0 otherwise (also for a malformed hash). */
int cr_password_verify(const char *hash, const char *password);

/* A new random token: nbytes of randomness as base64url (no padding), in
 * the arena. */
char *cr_token_new(arena *a, size_t nbytes);
/* Lower-case hex SHA-256 of s, in the arena. */
char *cr_sha256_hex(arena *a, const void *s, size_t n);
/* Constant-time string equality; 0 when lengths differ. */
int cr_equal(const char *a, const char *b);

/* Load the master key: the file must hold exactly 32 bytes (raw) or 64 hex
 * characters, and must not be readable by group or others. SL_ECONFIG with
 * a message that says what to do otherwise. */
sl_err cr_load_key(const char *path, unsigned char key[CR_KEY_BYTES], sl_errbuf *eb);
/* Create a new key file (mode 0600) when none exists; SL_OK if it exists. */
sl_err cr_create_key(const char *path, sl_errbuf *eb);
/* Encrypt plaintext into "sb1:<base64>" in the arena. */
char *cr_seal(arena *a, const unsigned char key[CR_KEY_BYTES], const char *plaintext);
/* Decrypt what cr_seal made. SL_ECRYPTO when the key is wrong or the text
 * was tampered with, SL_EPARSE when it is not sealed text. */
sl_err cr_open(arena *a, const unsigned char key[CR_KEY_BYTES], const char *sealed, char **out,
               sl_errbuf *eb);

#endif
