/* Load: 300 devices on 300 concurrent CURVE connections each fetch their key sets from one
 * `mcsec-kms serve`; every one is served, and each response carries exactly its own identity
 * (UserUri, every key set's UserUri and its UID format 2 recomputed); a sample is fully
 * validated (RSK and SSK/PVT). */
#include "test.h"

#include "kms_test.h"

#define N_DEVICES 300

typedef struct {
    char uri[64], pub[41], sec[41];
    void *sock;
    int done;
} dev_t_;

int main(void)
{
    static dev_t_ devs[N_DEVICES];
    char dir[512];
    kt_raise_nofile();
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    mcsec_kms_info_t info;
    mcsec_kms_get_info(kms, &info);
    for (int i = 0; i < N_DEVICES; i++) {
        snprintf(devs[i].uri, sizeof devs[i].uri, "sip:responder-%03d@example.org", i);
        mcsec_kms_enroll_t req = {devs[i].uri, MCSEC_KMS_ROLE_HANDSET, NULL, 0, NULL};
        mcsec_kms_credential_t c;
        if (mcsec_kms_enroll(kms, &req, &c) != MCSEC_OK)
            kt_die("enroll");
        memcpy(devs[i].pub, c.curve_public, 41);
        memcpy(devs[i].sec, c.curve_secret, 41);
    }
    kt_server_t srv;
    if (kt_spawn(&srv, dir, NULL) != 0)
        return 2;
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* All connections first, then all requests: 300 connections are open at once. */
    for (int i = 0; i < N_DEVICES; i++) {
        devs[i].sock = kt_dealer(ctx, &srv, info.curve_public, devs[i].pub, devs[i].sec);
        CHECK(devs[i].sock != NULL);
    }
    uint8_t req[512];
    for (int i = 0; i < N_DEVICES; i++) {
        size_t rl = kt_request(req, sizeof req, 1000 + (uint64_t)i, devs[i].uri, 0);
        CHECK(zmq_send(devs[i].sock, req, rl, 0) == (int)rl);
    }
    uint64_t pn = kt_ntp_now() / info.key_period;
    int served = 0, right = 0, remaining = N_DEVICES;
    mcsec_kms_init_t init;
    mcsec_kms_response_hdr_t hdr;
    int have_init = 0;
    time_t deadline = time(NULL) + 120;
    static zmq_pollitem_t items[N_DEVICES];
    while (remaining > 0 && time(NULL) < deadline) {
        int k = 0, idx[N_DEVICES];
        for (int i = 0; i < N_DEVICES; i++)
            if (!devs[i].done) {
                items[k] = (zmq_pollitem_t){devs[i].sock, 0, ZMQ_POLLIN, 0};
                idx[k++] = i;
            }
        if (zmq_poll(items, k, 1000) <= 0)
            continue;
        for (int j = 0; j < k; j++) {
            if (!(items[j].revents & ZMQ_POLLIN))
                continue;
            int i = idx[j];
            Mcsec__Kms__KmsResponse *r = kt_recv(devs[i].sock, 0);
            devs[i].done = 1;
            remaining--;
            if (r == NULL)
                continue;
            if (r->status == 0 && r->request_id == 1000 + (uint64_t)i)
                served++;
            else
                fprintf(stderr, "device %d: status %d %s\n", i, r->status, r->message);
            mcsec_kms_keyset_t sets[3];
            size_t n = 0;
            if (!have_init && r->kms_init_xml.len > 0)
                have_init = mcsec_kmsxml_parse_init((const char *)r->kms_init_xml.data,
                                                    r->kms_init_xml.len, &hdr, &init) == MCSEC_OK;
            if (mcsec_kmsxml_parse_keyprov((const char *)r->kms_xml.data, r->kms_xml.len, &hdr,
                                           sets, 3, &n) == MCSEC_OK &&
                n == 2 && strcmp(hdr.user_uri, devs[i].uri) == 0) {
                int ok = 1;
                for (size_t s = 0; s < n; s++) {
                    uint8_t uid[32];
                    ok &= strcmp(sets[s].user_uri, devs[i].uri) == 0;
                    ok &= sets[s].key_period_no == pn + s;
                    ok &= mcsec_uid_format2(devs[i].uri, KT_KMS_URI, info.key_period,
                                            info.key_offset, sets[s].key_period_no,
                                            uid) == MCSEC_OK &&
                          memcmp(uid, sets[s].uid, 32) == 0;
                }
                if (ok && have_init && i % 100 == 7) /* full validation of a sample */
                    ok = mcsec_kmsxml_check_keyset(&init, &sets[0], devs[i].uri) == MCSEC_OK &&
                         mcsec_kmsxml_check_keyset(&init, &sets[1], devs[i].uri) == MCSEC_OK;
                right += ok;
            }
            mcsec_kms_keyset_wipe(sets, 3);
            mcsec__kms__kms_response__free_unpacked(r, NULL);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("%d devices: %d served, %d with exactly their own keys, in %.2f s\n", N_DEVICES, served,
           right, s);
    CHECK(served == N_DEVICES);
    CHECK(right == N_DEVICES);
    CHECK(have_init);
    for (int i = 0; i < N_DEVICES; i++)
        zmq_close(devs[i].sock);
    zmq_ctx_term(ctx);
    CHECK(kt_stop(&srv) == 0);
    mcsec_kms_close(kms);
    return test_summary();
}
