/* The control-plane schemas compile and round-trip through protobuf-c, and the decoder
 * rejects truncated or garbage envelopes instead of crashing. */
#include "call.pb-c.h"
#include "groupmgr.pb-c.h"
#include "kms.pb-c.h"
#include "test.h"

static void test_kms(void)
{
    Mcsec__Kms__KeyProvRequest kp = MCSEC__KMS__KEY_PROV_REQUEST__INIT;
    kp.user_uri = "sip:alice@example.org";
    kp.at_time = 3900000000u;
    Mcsec__Kms__KmsRequest req = MCSEC__KMS__KMS_REQUEST__INIT;
    req.version = 1;
    req.request_id = 42;
    req.body_case = MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV;
    req.key_prov = &kp;
    uint8_t buf[256];
    size_t n = mcsec__kms__kms_request__get_packed_size(&req);
    CHECK(n <= sizeof buf);
    CHECK(mcsec__kms__kms_request__pack(&req, buf) == n);
    Mcsec__Kms__KmsRequest *back = mcsec__kms__kms_request__unpack(NULL, n, buf);
    CHECK(back != NULL);
    if (back != NULL) {
        CHECK(back->request_id == 42 && back->body_case == MCSEC__KMS__KMS_REQUEST__BODY_KEY_PROV);
        CHECK(strcmp(back->key_prov->user_uri, kp.user_uri) == 0);
        CHECK(back->key_prov->at_time == kp.at_time);
        mcsec__kms__kms_request__free_unpacked(back, NULL);
    }
    /* every truncation either fails or decodes a prefix; never crashes (ASan run) */
    for (size_t cut = 0; cut < n; cut++) {
        Mcsec__Kms__KmsRequest *t = mcsec__kms__kms_request__unpack(NULL, cut, buf);
        if (t != NULL)
            mcsec__kms__kms_request__free_unpacked(t, NULL);
    }
    static const uint8_t garbage[] = {0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01};
    CHECK(mcsec__kms__kms_request__unpack(NULL, sizeof garbage, garbage) == NULL);
}

static void test_groupmgr(void)
{
    Mcsec__Groupmgr__GmkDelivery d = MCSEC__GROUPMGR__GMK_DELIVERY__INIT;
    static uint8_t msg[] = {1, 26, 1, 1, 2, 3};
    d.group_uri = "sip:fire-north@example.org";
    d.gmk_id = 0x0ABCDEF1;
    d.i_message.data = msg;
    d.i_message.len = sizeof msg;
    d.timestamp = 77;
    Mcsec__Groupmgr__GroupMgrMessage m = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__INIT;
    m.version = 1;
    m.body_case = MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY;
    m.delivery = &d;
    uint8_t buf[256];
    size_t n = mcsec__groupmgr__group_mgr_message__pack(&m, buf);
    Mcsec__Groupmgr__GroupMgrMessage *back = mcsec__groupmgr__group_mgr_message__unpack(NULL, n, buf);
    CHECK(back != NULL);
    if (back != NULL) {
        CHECK(back->body_case == MCSEC__GROUPMGR__GROUP_MGR_MESSAGE__BODY_DELIVERY);
        CHECK(back->delivery->gmk_id == d.gmk_id && back->delivery->timestamp == 77);
        CHECK(back->delivery->i_message.len == sizeof msg);
        CHECK_MEM(back->delivery->i_message.data, msg, sizeof msg);
        mcsec__groupmgr__group_mgr_message__free_unpacked(back, NULL);
    }
}

static void test_call(void)
{
    Mcsec__Call__GroupCallNotification c = MCSEC__CALL__GROUP_CALL_NOTIFICATION__INIT;
    c.group_uri = "sip:fire-north@example.org";
    c.talker_uri = "sip:alice@example.org";
    c.media_address = "239.1.2.3";
    c.media_port = 50000;
    c.ssrc = 0x12345678;
    c.srtp_suite = "AEAD_AES_128_GCM";
    uint8_t buf[256];
    size_t n = mcsec__call__group_call_notification__pack(&c, buf);
    Mcsec__Call__GroupCallNotification *back =
        mcsec__call__group_call_notification__unpack(NULL, n, buf);
    CHECK(back != NULL);
    if (back != NULL) {
        CHECK(back->ssrc == c.ssrc && back->media_port == 50000);
        CHECK(strcmp(back->srtp_suite, c.srtp_suite) == 0);
        mcsec__call__group_call_notification__free_unpacked(back, NULL);
    }
}

int main(void)
{
    test_kms();
    test_groupmgr();
    test_call();
    return test_summary();
}
