/* check_crypto.c - unit tests for app/core/crypto.c: passwords, tokens,
 * hashes, the key file and sealed secrets. */
#include <check.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

static arena *A;
static char dir[] = "/tmp/check_crypto.XXXXXX";

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
}

/* Write n bytes to <dir>/name with mode; returns the path (arena). */
static const char *keyfile(const char *name, const void *data, size_t n, mode_t mode)
{
    char *path = arena_printf(A, "%s/%s", dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
    chmod(path, mode);
    return path;
}

START_TEST(test_password)
{
    char *h = NULL;
    ck_assert_int_eq(cr_password_hash(A, "correct horse battery", &h, NULL), SL_OK);
    ck_assert_msg(strncmp(h, "$argon2id$", 10) == 0, "not argon2id: %s", h);
    ck_assert_int_eq(cr_password_verify(h, "correct horse battery"), 1);
    ck_assert_int_eq(cr_password_verify(h, "correct horse batterY"), 0);
    ck_assert_int_eq(cr_password_verify(h, ""), 0);
    ck_assert_int_eq(cr_password_verify("plain-text", "plain-text"), 0);
    ck_assert_int_eq(cr_password_verify(NULL, "x"), 0);
    char *h2 = NULL;
    ck_assert_int_eq(cr_password_hash(A, "correct horse battery", &h2, NULL), SL_OK);
    ck_assert_str_ne(h, h2); /* salted */
}
END_TEST

START_TEST(test_tokens_and_hashes)
{
    char *t1 = cr_token_new(A, 32), *t2 = cr_token_new(A, 32);
    ck_assert_uint_eq(strlen(t1), 43); /* 32 bytes as unpadded base64url */
    ck_assert_str_ne(t1, t2);
    for (const char *p = t1; *p; p++)
        ck_assert_ptr_nonnull(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_", *p));
    ck_assert_str_eq(cr_sha256_hex(A, "abc", 3),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(cr_sha256_hex(A, "", 0),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_int_eq(cr_equal("abc", "abc"), 1);
    ck_assert_int_eq(cr_equal("abc", "abd"), 0);
    ck_assert_int_eq(cr_equal("abc", "abcd"), 0);
    ck_assert_int_eq(cr_equal(NULL, "a"), 0);
}
END_TEST

START_TEST(test_key_files)
{
    unsigned char raw[CR_KEY_BYTES], key[CR_KEY_BYTES];
    sl_errbuf eb = {0};
    for (int i = 0; i < CR_KEY_BYTES; i++)
        raw[i] = (unsigned char)(i * 7 + 1);
    raw[CR_KEY_BYTES - 1] = '\n'; /* a raw key may end in a newline byte */
    ck_assert_int_eq(cr_load_key(keyfile("raw", raw, sizeof raw, 0600), key, &eb), SL_OK);
    ck_assert_int_eq(memcmp(key, raw, sizeof key), 0);

    char hex[CR_KEY_BYTES * 2 + 2];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    size_t hl = strlen(hex);
    hex[hl] = '\n';
    hex[hl + 1] = '\0';
    ck_assert_int_eq(cr_load_key(keyfile("hex", hex, strlen(hex), 0600), key, &eb), SL_OK);
    ck_assert_int_eq(memcmp(key, raw, sizeof key), 0);

    ck_assert_int_eq(cr_load_key(keyfile("open", raw, sizeof raw, 0644), key, &eb),
                     SL_ECONFIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "chmod 600"));
    ck_assert_int_eq(cr_load_key(keyfile("short", raw, 31, 0600), key, &eb), SL_ECONFIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "32 bytes or 64 hex"));
    hex[5] = 'g';
    ck_assert_int_eq(cr_load_key(keyfile("badhex", hex, 64, 0600), key, &eb), SL_ECONFIG);
    ck_assert_int_eq(cr_load_key(arena_printf(A, "%s/missing", dir), key, &eb), SL_ECONFIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "SLUICE_SECRET_KEY_FILE"));

    const char *created = arena_printf(A, "%s/created", dir);
    unlink(created);
    ck_assert_int_eq(cr_create_key(created, &eb), SL_OK);
    struct stat st;
    ck_assert_int_eq(stat(created, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    unsigned char k1[CR_KEY_BYTES], k2[CR_KEY_BYTES];
    ck_assert_int_eq(cr_load_key(created, k1, &eb), SL_OK);
    ck_assert_int_eq(cr_create_key(created, &eb), SL_OK); /* exists: kept */
    ck_assert_int_eq(cr_load_key(created, k2, &eb), SL_OK);
    ck_assert_int_eq(memcmp(k1, k2, sizeof k1), 0);
}
END_TEST

START_TEST(test_seal_open)
{
    unsigned char k[CR_KEY_BYTES], other[CR_KEY_BYTES];
    randombytes_buf(k, sizeof k);
    randombytes_buf(other, sizeof other);
    const char *secrets[] = {"", "p@ss w0rd", "üñïçødé 🔑", "a\nb\tc"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        char *s1 = cr_seal(A, k, secrets[i]), *s2 = cr_seal(A, k, secrets[i]);
        ck_assert_int_eq(strncmp(s1, "sb1:", 4), 0);
        ck_assert_str_ne(s1, s2); /* a fresh nonce each time */
        ck_assert_ptr_null(strstr(s1, secrets[i][0] ? secrets[i] : "\x01"));
        char *out = NULL;
        ck_assert_int_eq(cr_open(A, k, s1, &out, NULL), SL_OK);
        ck_assert_str_eq(out, secrets[i]);
        sl_errbuf eb = {0};
        ck_assert_int_eq(cr_open(A, other, s1, &out, &eb), SL_ECRYPTO);
        ck_assert_ptr_nonnull(strstr(eb.msg, "does not match"));
        char *tampered = arena_strdup(A, s1);
        size_t n = strlen(tampered);
        tampered[n - 3] = tampered[n - 3] == 'A' ? 'B' : 'A';
        ck_assert_int_ne(cr_open(A, k, tampered, &out, NULL), SL_OK);
    }
    char *out = NULL;
    ck_assert_int_eq(cr_open(A, k, "plain", &out, NULL), SL_EPARSE);
    ck_assert_int_eq(cr_open(A, k, "sb1:!!!", &out, NULL), SL_EPARSE);
    ck_assert_int_eq(cr_open(A, k, "sb1:", &out, NULL), SL_EPARSE);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return EXIT_FAILURE;
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_password);
    tcase_add_test(tc, test_tokens_and_hashes);
    tcase_add_test(tc, test_key_files);
    tcase_add_test(tc, test_seal_open);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
