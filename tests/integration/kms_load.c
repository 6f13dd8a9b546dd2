/* Load: 300 devices on 300 concurrent CURVE connections each fetch their key sets from one
 * `mcsec-kms serve`; every one is served, and each response carries exactly its own identity
 * (UserUri, every key set's UserUri and its UID format 2 recomputed); a sample is fully
 * validated (RSK and SSK/PVT). The load itself is kt_load (kms_test.h), which
 * tests/faults/faults_load.c also runs, with the daemon's memory bound. */
#include "test.h"

#include "kms_test.h"

#define N_DEVICES 300

int main(void)
{
    static kt_device_t devs[N_DEVICES];
    char dir[512];
    kt_raise_nofile();
    mcsec_kms_t *kms = kt_create("kms", dir, sizeof dir);
    mcsec_kms_info_t info;
    mcsec_kms_get_info(kms, &info);
    kt_enroll_devices(kms, devs, N_DEVICES);
    kt_server_t srv;
    if (kt_spawn(&srv, dir, NULL) != 0)
        return 2;
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096);
    kt_load_result_t res;
    kt_load(ctx, &srv, &info, devs, N_DEVICES, &res);
    printf("%d devices: %d served, %d with exactly their own keys, in %.2f s\n", N_DEVICES,
           res.served, res.right, res.seconds);
    CHECK(res.served == N_DEVICES);
    CHECK(res.right == N_DEVICES);
    CHECK(res.have_init);
    zmq_ctx_term(ctx);
    CHECK(kt_stop(&srv) == 0);
    mcsec_kms_close(kms);
    mcsec_memzero(devs, sizeof devs);
    return test_summary();
}
