# An independent check of vectors.json (Python, the "cryptography" package): run from the repository root with
# /usr/bin/python3 tests/PeerNet.Tests/Sharing/check_vectors.py. It re-derives every value of docs/sharing.md §1-3.
import json, hashlib
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import base64
d=json.load(open('tests/PeerNet.Tests/Sharing/vectors.json'))
H=lambda b: hashlib.sha256(b).digest()
def hk(k,info): return HKDF(algorithm=hashes.SHA256(),length=32,salt=None,info=info).derive(k)
def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
for it in d['items']:
    K=bytes.fromhex(it['key']); mk=hk(K,b'peernet-sharing/1 manifest'); pk=hk(K,b'peernet-sharing/1 piece')
    assert mk.hex()==it['manifestKey'] and pk.hex()==it['pieceKey']
    mj=bytes.fromhex(it['manifestJson'])
    sm=AESGCM(mk).encrypt(bytes(12),mj,None); assert sm.hex()==it['sealedManifest']
    n=it['payloadLength']; ps=1<<it['pieceSizeLog2']
    payload=bytes((i*7+3)%251 for i in range(n))
    leaves=[]
    for i in range((n+ps-1)//ps):
        sp=AESGCM(pk).encrypt(bytes(4)+i.to_bytes(8,'big'),payload[i*ps:(i+1)*ps],None)
        leaves.append(H(b'\0'+sp)); assert leaves[-1].hex()==it['pieces'][i]['leafHash']
    lvl=leaves[:]; levels=[lvl]
    while len(lvl)>1:
        lvl=[H(b'\1'+lvl[j]+lvl[j+1]) if j+1<len(lvl) else lvl[j] for j in range(0,len(lvl),2)]; levels.append(lvl)
    root=lvl[0] if leaves else bytes(32)
    assert root.hex()==it['piecesRoot']
    info=b'PNS1'+bytes([1,it['pieceSizeLog2'],0,0])+n.to_bytes(8,'big')+len(sm).to_bytes(4,'big')+root+sm
    assert info.hex()==it['info']
    cid=H(b'\1'+H(b'\0'+info[:20]+sm)+root); assert cid.hex()==it['cid'] and b64u(cid)==it['cidB64u']
    assert it['link']==f"https://{d['hub']}/#/get/{b64u(cid)}#k={b64u(K)}"
    for i,p in enumerate(it['pieces']):
        pr=[]; j=i
        for L in levels[:-1]:
            if j%2==1: pr.append(L[j-1])
            elif j+1<len(L): pr.append(L[j+1])
            j//=2
        assert [x.hex() for x in pr]==p['proof'], (it['name'],i)
    print('ok', it['name'])
print("all vectors check out")
