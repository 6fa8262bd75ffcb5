# Vectors for src/signature.rs, computed with Alibaba's SDKs. Run in a venv:
#   python3 -m venv /tmp/v && /tmp/v/bin/pip install alibabacloud-tea-openapi==0.4.6 alibabacloud-openapi-util==0.2.4 oss2==2.19.1
#   /tmp/v/bin/python sdk_vectors.py
import hmac as _hmac
from alibabacloud_openapi_util.client import Client as OU
from alibabacloud_tea_openapi import utils as tu
import oss2, oss2.auth, oss2.http

# RPC
params = {"Action": "AddDomainRecord", "Version": "2015-01-09", "Format": "JSON",
          "AccessKeyId": "LTAI5tEmulatorKey", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
          "SignatureNonce": "3f0c2d1e-nonce", "Timestamp": "2026-12-01T23:30:00Z",
          "DomainName": "example.com", "RR": "_acme-challenge.www", "Type": "TXT",
          "Value": "a b*c~d/中=&+"}
secret = "emulator-secret"
print("rpc_sig_openapi_util", OU.get_rpcsignature(params, "POST", secret))
print("rpc_sig_tea_openapi", tu.Utils.get_rpcsignature(params, "POST", secret))
seen = []
orig = tu.hmac.new
def spy(key, msg, digestmod=None):
    seen.append((key, msg)); return orig(key, msg, digestmod=digestmod)
tu.hmac.new = spy
tu.Utils.get_rpcsignature(params, "POST", secret)
tu.hmac.new = orig
print("rpc_sts", repr(seen[0][1].decode()))

# V3
class R: pass
r = R()
r.method = "PUT"
r.pathname = "/2023-03-30/custom-domains/www.example.com"
r.query = {"limit": "10", "prefix": "a b/c"}
body = b'{"protocol":"HTTP,HTTPS"}'
import hashlib
payload = hashlib.sha256(body).hexdigest()
r.headers = {"host": "1234567890123456.cn-hangzhou.fc.aliyuncs.com", "x-acs-action": "UpdateCustomDomain",
             "x-acs-version": "2023-03-30", "x-acs-date": "2026-12-01T23:30:00Z",
             "x-acs-signature-nonce": "5e2b-nonce", "x-acs-content-sha256": payload,
             "content-type": "application/json; charset=utf-8", "x-acs-security-token": "sts-token"}
print("v3_payload", payload)
print("v3_auth", OU.get_authorization(r, "ACS3-HMAC-SHA256", payload, "STS.emulator", "v3-secret"))

# OSS V4
auth = oss2.AuthV4("LTAI5tOssKey", "oss-secret")
req = oss2.http.Request("PUT", "http://127.0.0.1/b1/dir/my%20key.pem",
                        params={"cname": "", "comp": "add"},
                        headers={"Content-Type": "application/xml", "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                                 "x-oss-meta-a": "1", "Host": "b1.oss-cn-shanghai.aliyuncs.com"})
req.region = "cn-shanghai"; req.product = "oss"; req.cloudbox_id = None
import datetime
class FixedDT(datetime.datetime):
    @classmethod
    def utcnow(cls): return datetime.datetime(2026, 12, 1, 23, 30, 0)
oss2.auth.datetime = FixedDT
auth._sign_request(req, "b1", "dir/my key.pem", in_additional_headers=["host"])
for k in ["x-oss-date", "x-oss-content-sha256", "authorization"]:
    print("oss", k, req.headers[k])
cr = auth._ProviderAuthV4__get_canonical_request_bytes(req, "b1", "dir/my key.pem", ["host"])
print("oss_canonical", repr(cr.decode()))
print("oss_sts", repr(auth._ProviderAuthV4__get_string_to_sign_bytes(req, cr, "20261201T233000Z")))
