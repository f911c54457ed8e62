/* check_sha256.c - unit tests for app/core/sha256.c: the FIPS 180-4 /
 * NIST example vectors (empty, "abc", the 448- and 896-bit messages, a
 * million 'a'), every length from 0 to 300 bytes, and 3,000 random messages
 * fed in random pieces, each against libsodium's crypto_hash_sha256 - on
 * both paths (the SHA extensions when this CPU has them, and the libsodium
 * one forced). */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void hex(const unsigned char *d, char out[65])
{
    sodium_bin2hex(out, 65, d, SHA256_BYTES);
}

static void digest(const void *p, size_t n, char out[65])
{
    sha256_ctx c;
    unsigned char d[SHA256_BYTES];
    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_final(&c, d);
    hex(d, out);
}

static void reference(const void *p, size_t n, char out[65])
{
    unsigned char d[SHA256_BYTES];
    crypto_hash_sha256(d, p, n);
    hex(d, out);
}

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
}

static const struct {
    const char *msg, *want;
} vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
     "lmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

START_TEST(test_vectors)
{
    sha256_force_portable(_i % 2);
    char got[65];
    digest(vectors[_i / 2].msg, strlen(vectors[_i / 2].msg), got);
    ck_assert_str_eq(got, vectors[_i / 2].want);
    sha256_force_portable(0);
}
END_TEST

START_TEST(test_million_a)
{
    sha256_force_portable(_i);
    sha256_ctx c;
    unsigned char d[SHA256_BYTES];
    char got[65], chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        sha256_update(&c, chunk, sizeof chunk);
    sha256_final(&c, d);
    hex(d, got);
    ck_assert_str_eq(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    sha256_force_portable(0);
}
END_TEST

START_TEST(test_every_short_length)
{
    sha256_force_portable(_i);
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t n = 0; n <= sizeof buf; n++) {
        char got[65], want[65];
        digest(buf, n, got);
        reference(buf, n, want);
        ck_assert_msg(strcmp(got, want) == 0, "length %zu: %s, want %s", n, got, want);
    }
    sha256_force_portable(0);
}
END_TEST

START_TEST(test_random_pieces)
{
    sha256_force_portable(_i);
    static unsigned char buf[20000];
    unsigned seed = 4242;
    for (int round = 0; round < 3000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 4) % (round < 2500 ? 700 : sizeof buf);
        randombytes_buf(buf, n);
        sha256_ctx c;
        sha256_init(&c);
        for (size_t at = 0; at < n;) {
            seed = seed * 1103515245u + 12345u;
            size_t piece = (seed >> 8) % 150;
            if (piece > n - at)
                piece = n - at;
            sha256_update(&c, buf + at, piece);
            at += piece;
        }
        unsigned char d[SHA256_BYTES];
        sha256_final(&c, d);
        char got[65], want[65];
        hex(d, got);
        reference(buf, n, want);
        ck_assert_msg(strcmp(got, want) == 0, "round %d (%zu bytes)", round, n);
    }
    sha256_force_portable(0);
}
END_TEST

START_TEST(test_paths)
{
    int fast = sha256_fast();
    sha256_force_portable(1);
    ck_assert_int_eq(sha256_fast(), 0);
    sha256_ctx c;
    sha256_init(&c);
    ck_assert_int_eq(c.fast, 0);
    sha256_force_portable(0);
    ck_assert_int_eq(sha256_fast(), fast);
    printf("check_sha256: the SHA extensions are %s on this CPU\n", fast ? "used" : "absent");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *t = tcase_create("core");
    tcase_add_unchecked_fixture(t, setup, NULL);
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, test_vectors, 0, 2 * (int)(sizeof vectors / sizeof vectors[0]));
    tcase_add_loop_test(t, test_million_a, 0, 2);
    tcase_add_loop_test(t, test_every_short_length, 0, 2);
    tcase_add_loop_test(t, test_random_pieces, 0, 2);
    tcase_add_test(t, test_paths);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
