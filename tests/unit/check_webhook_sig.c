/* check_webhook_sig.c - unit tests for app/core/webhook_sig.c: the Standard
 * Webhooks test vector, secrets, signing, verification of single and
 * multi-entry signature headers (table-driven: other versions, wrong
 * prefixes, bad base64, truncated or padded entries, extra spaces), and the
 * timestamp window. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "webhook_sig.h"

/* The example of the Standard Webhooks specification (and its reference
 * libraries' tests). */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS "1614265330"
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define VEC_B64 "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* The same signature with its last character changed (one bit of the MAC). */
#define VEC_B64_FLIP "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
/* A valid v1 signature of another message. */
#define OTHER_B64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static arena *A;

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    A = arena_new(0);
}

static void teardown(void)
{
    arena_free(A);
}

START_TEST(test_spec_vector_signs)
{
    char *sig = webhook_sig_sign(A, VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY));
    ck_assert_ptr_nonnull(sig);
    ck_assert_str_eq(sig, VEC_SIG);
    /* The prefix is optional on the secret. */
    sig = webhook_sig_sign(A, VEC_SECRET + 6, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY));
    ck_assert_str_eq(sig, VEC_SIG);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY),
                                        VEC_SIG),
                     WEBHOOK_SIG_OK);
}
END_TEST

static const struct {
    const char *header;
    enum webhook_sig_result want;
} headers[] = {
    {VEC_SIG, WEBHOOK_SIG_OK},
    {"v1," OTHER_B64 " " VEC_SIG, WEBHOOK_SIG_OK},           /* second of two */
    {VEC_SIG " v1," OTHER_B64, WEBHOOK_SIG_OK},              /* first of two */
    {"v1a,abc v2," VEC_B64 " " VEC_SIG, WEBHOOK_SIG_OK},     /* beside other versions */
    {"  " VEC_SIG "  ", WEBHOOK_SIG_OK},                     /* extra spaces */
    {"v1,bad!base64 " VEC_SIG, WEBHOOK_SIG_OK},              /* a broken entry first */
    {"v1," VEC_B64_FLIP, WEBHOOK_SIG_MISMATCH},              /* one bit off */
    {"v1," OTHER_B64, WEBHOOK_SIG_MISMATCH},
    {"v1," OTHER_B64 " v1," VEC_B64_FLIP, WEBHOOK_SIG_MISMATCH},
    {"v2," VEC_B64, WEBHOOK_SIG_NO_V1},                      /* wrong version */
    {"v1a," VEC_B64, WEBHOOK_SIG_NO_V1},                     /* asymmetric scheme */
    {"V1," VEC_B64, WEBHOOK_SIG_NO_V1},                      /* versions are lower case */
    {VEC_B64, WEBHOOK_SIG_NO_V1},                            /* no version at all */
    {"v1" VEC_B64, WEBHOOK_SIG_NO_V1},                       /* no comma */
    {"v1,", WEBHOOK_SIG_NO_V1},                              /* empty entry */
    {",v1," VEC_B64, WEBHOOK_SIG_NO_V1},
    {"v1,!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=", WEBHOOK_SIG_MISMATCH}, /* bad base64 */
    {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", WEBHOOK_SIG_MISMATCH},  /* no padding */
    {"v1," VEC_B64 "=", WEBHOOK_SIG_MISMATCH},               /* too much padding */
    {"v1," VEC_B64 "AAAA", WEBHOOK_SIG_MISMATCH},            /* trailing bytes */
    {"v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=", WEBHOOK_SIG_MISMATCH}, /* base64url */
    {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==", WEBHOOK_SIG_MISMATCH}, /* truncated */
    /* A byte above 0x7f where '/' belongs: libsodium alone would read it as '/'. */
    {"v1,g0hM9SsE+OTPJTGt\xcatmIKtSyZlE3uFJELVlNIOLJ1OE=", WEBHOOK_SIG_MISMATCH},
    {"v1, " VEC_B64, WEBHOOK_SIG_NO_V1},                     /* space splits the entry */
    {"v1,\t" VEC_B64, WEBHOOK_SIG_MISMATCH},                 /* a tab is not a separator */
    {"", WEBHOOK_SIG_MISSING},
    {NULL, WEBHOOK_SIG_MISSING},
};

START_TEST(test_headers)
{
    enum webhook_sig_result got = webhook_sig_verify(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY,
                                                     strlen(VEC_BODY), headers[_i].header);
    ck_assert_msg(got == headers[_i].want, "header '%s': got %d (%s), want %d",
                  headers[_i].header ? headers[_i].header : "(null)", got,
                  webhook_sig_strerror(got), headers[_i].want);
}
END_TEST

/* Changing any signed part breaks the signature. */
START_TEST(test_signed_parts)
{
    size_t n = strlen(VEC_BODY);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, "msg_other", VEC_TS, VEC_BODY, n, VEC_SIG),
                     WEBHOOK_SIG_MISMATCH);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, VEC_ID, "1614265331", VEC_BODY, n, VEC_SIG),
                     WEBHOOK_SIG_MISMATCH);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, n - 1, VEC_SIG),
                     WEBHOOK_SIG_MISMATCH);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, VEC_ID, VEC_TS, "{\"test\": 2432232315}", n,
                                        VEC_SIG),
                     WEBHOOK_SIG_MISMATCH);
    /* Another secret. */
    char *other = webhook_sig_secret_new(A);
    ck_assert_int_eq(webhook_sig_verify(other, VEC_ID, VEC_TS, VEC_BODY, n, VEC_SIG),
                     WEBHOOK_SIG_MISMATCH);
    /* Missing parts. */
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, NULL, VEC_TS, VEC_BODY, n, VEC_SIG),
                     WEBHOOK_SIG_MISSING);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, "", VEC_TS, VEC_BODY, n, VEC_SIG),
                     WEBHOOK_SIG_MISSING);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, VEC_ID, NULL, VEC_BODY, n, VEC_SIG),
                     WEBHOOK_SIG_MISSING);
    ck_assert_int_eq(webhook_sig_verify(VEC_SECRET, VEC_ID, "", VEC_BODY, n, VEC_SIG),
                     WEBHOOK_SIG_MISSING);
}
END_TEST

/* Binary bodies with NULs and an empty body sign and verify. */
START_TEST(test_bodies)
{
    const char bin[] = {'a', '\0', 'b', '\n', (char)0xff, '\0'};
    char *secret = webhook_sig_secret_new(A);
    char *sig = webhook_sig_sign(A, secret, "m1", "1700000000", bin, sizeof bin);
    ck_assert_ptr_nonnull(sig);
    ck_assert_int_eq(webhook_sig_verify(secret, "m1", "1700000000", bin, sizeof bin, sig),
                     WEBHOOK_SIG_OK);
    ck_assert_int_eq(webhook_sig_verify(secret, "m1", "1700000000", bin, 1, sig),
                     WEBHOOK_SIG_MISMATCH);
    char *empty = webhook_sig_sign(A, secret, "m1", "1700000000", NULL, 0);
    ck_assert_ptr_nonnull(empty);
    ck_assert_str_ne(empty, sig);
    ck_assert_int_eq(webhook_sig_verify(secret, "m1", "1700000000", NULL, 0, empty),
                     WEBHOOK_SIG_OK);
    ck_assert_int_eq(webhook_sig_verify(secret, "m1", "1700000000", "", 0, empty),
                     WEBHOOK_SIG_OK);
}
END_TEST

#define A16 "AAAAAAAAAAAAAAAA" /* 12 zero bytes in base64 */

static const struct {
    const char *secret;
    int ok;
    size_t len;
} secrets[] = {
    {VEC_SECRET, 1, 24},
    {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1, 24},        /* without the prefix */
    {"whsec_AAAAAAAAAAAAAAAAAAAAAA==", 1, 16},           /* the shortest key */
    {"whsec_AAAAAAAAAAAAAAAAAAAA", 0, 0},                /* 15 bytes: too short */
    {"whsec_", 0, 0},
    {"", 0, 0},
    {"whsec_not base64!", 0, 0},
    {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", 0, 0},  /* trailing space */
    {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", 0, 0},    /* cut short */
    {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa\xd3w", 0, 0}, /* a high byte for 'S' */
    {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw==", 0, 0}, /* padding where none belongs */
    {"whsec_" A16 A16 A16 A16 A16 "AAAAAA==",
     1, 64},                                             /* the longest key */
    {"whsec_" A16 A16 A16 A16 A16 "AAAAAAAA",
     0, 0},                                              /* 66 bytes: too long */
    {NULL, 0, 0},
};

START_TEST(test_secrets)
{
    unsigned char key[WEBHOOK_SIG_KEY_MAX];
    size_t len = 99;
    int ok = webhook_sig_key(secrets[_i].secret, key, &len);
    ck_assert_msg(ok == secrets[_i].ok, "secret '%s': got %d",
                  secrets[_i].secret ? secrets[_i].secret : "(null)", ok);
    ck_assert_uint_eq(len, secrets[_i].len);
    if (!ok) {
        ck_assert_ptr_null(webhook_sig_sign(A, secrets[_i].secret, "m", "1", "x", 1));
        ck_assert_int_eq(webhook_sig_verify(secrets[_i].secret, VEC_ID, VEC_TS, VEC_BODY,
                                            strlen(VEC_BODY), VEC_SIG),
                         WEBHOOK_SIG_BAD_SECRET);
    }
}
END_TEST

START_TEST(test_new_secrets)
{
    char *a = webhook_sig_secret_new(A), *b = webhook_sig_secret_new(A);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(strncmp(a, "whsec_", 6), 0);
    ck_assert_uint_eq(strlen(a), 6 + 44);
    unsigned char key[WEBHOOK_SIG_KEY_MAX];
    size_t len;
    ck_assert_int_eq(webhook_sig_key(a, key, &len), 1);
    ck_assert_uint_eq(len, WEBHOOK_SIG_SECRET_BYTES);
    char *sig = webhook_sig_sign(A, a, "id", "5", "body", 4);
    ck_assert_int_eq(webhook_sig_verify(a, "id", "5", "body", 4, sig), WEBHOOK_SIG_OK);
    ck_assert_int_eq(webhook_sig_verify(b, "id", "5", "body", 4, sig), WEBHOOK_SIG_MISMATCH);
    /* Rotation: a header signed with the old and the new secret passes both. */
    char *sig_b = webhook_sig_sign(A, b, "id", "5", "body", 4);
    char *both = arena_printf(A, "%s %s", sig, sig_b);
    ck_assert_int_eq(webhook_sig_verify(a, "id", "5", "body", 4, both), WEBHOOK_SIG_OK);
    ck_assert_int_eq(webhook_sig_verify(b, "id", "5", "body", 4, both), WEBHOOK_SIG_OK);
}
END_TEST

static const struct {
    const char *ts;
    long long offset; /* now = 1700000000 + offset */
    enum webhook_sig_result want;
} times[] = {
    {"1700000000", 0, WEBHOOK_SIG_OK},
    {"1700000000", 300, WEBHOOK_SIG_OK},       /* exactly at the edge */
    {"1700000000", -300, WEBHOOK_SIG_OK},
    {"1700000000", 301, WEBHOOK_SIG_TOO_OLD},
    {"1700000000", 600, WEBHOOK_SIG_TOO_OLD},  /* ten minutes old */
    {"1700000000", -301, WEBHOOK_SIG_TOO_NEW},
    {"0", 0, WEBHOOK_SIG_TOO_OLD},
    {"0001700000000", 0, WEBHOOK_SIG_OK},      /* leading zeros are digits */
    {"999999999999999999", 0, WEBHOOK_SIG_TOO_NEW},
    {"9999999999999999999", 0, WEBHOOK_SIG_BAD_TIMESTAMP}, /* 19 digits */
    {"-1700000000", 0, WEBHOOK_SIG_BAD_TIMESTAMP},
    {"+1700000000", 0, WEBHOOK_SIG_BAD_TIMESTAMP},
    {"1700000000.5", 0, WEBHOOK_SIG_BAD_TIMESTAMP},
    {" 1700000000", 0, WEBHOOK_SIG_BAD_TIMESTAMP},
    {"1700000000 ", 0, WEBHOOK_SIG_BAD_TIMESTAMP},
    {"2023-11-14T22:13:20Z", 0, WEBHOOK_SIG_BAD_TIMESTAMP},
    {"", 0, WEBHOOK_SIG_MISSING},
    {NULL, 0, WEBHOOK_SIG_MISSING},
};

START_TEST(test_times)
{
    time_t now = (time_t)(1700000000LL + times[_i].offset);
    enum webhook_sig_result got =
        webhook_sig_check_time(times[_i].ts, now, WEBHOOK_SIG_TOLERANCE);
    ck_assert_msg(got == times[_i].want, "timestamp '%s' at %+lld: got %d (%s)",
                  times[_i].ts ? times[_i].ts : "(null)", times[_i].offset, got,
                  webhook_sig_strerror(got));
}
END_TEST

START_TEST(test_strerror)
{
    for (int r = WEBHOOK_SIG_OK; r <= WEBHOOK_SIG_TOO_NEW; r++) {
        const char *s = webhook_sig_strerror((enum webhook_sig_result)r);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, "unknown result");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook_sig");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_spec_vector_signs);
    tcase_add_loop_test(tc, test_headers, 0, sizeof headers / sizeof headers[0]);
    tcase_add_test(tc, test_signed_parts);
    tcase_add_test(tc, test_bodies);
    tcase_add_loop_test(tc, test_secrets, 0, sizeof secrets / sizeof secrets[0]);
    tcase_add_test(tc, test_new_secrets);
    tcase_add_loop_test(tc, test_times, 0, sizeof times / sizeof times[0]);
    tcase_add_test(tc, test_strerror);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
