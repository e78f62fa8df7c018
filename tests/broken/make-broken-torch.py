#!/usr/bin/env python3
"""Writes the broken corpus for the torch readers: tests/broken/{zip,pickle,torch}/.

Every file is genuinely broken or hostile and must give a GError from gill_torch_load (and from
gill_zip_open_bytes / gill_pickle_load where that is the layer at fault), never a crash.
The bytes are written by hand (no torch, no numpy): zips laid out as torch.save lays them out
(flags 0x0808, zero sizes in local headers, data aligned to 64 bytes), pickles opcode by opcode.
Dev tool only; the outputs are committed. Run from anywhere: python3 make-broken-torch.py
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------------
# pickles

def binunicode(s):
    b = s.encode()
    return b'X' + struct.pack('<I', len(b)) + b


def storage_pid(key, numel, cls='FloatStorage', location='cpu'):
    """BINPERSID ('storage', torch.<cls>, key, location, numel)"""
    return (b'(' + binunicode('storage') + b'ctorch\n' + cls.encode() + b'\n' + binunicode(key)
            + binunicode(location) + b'J' + struct.pack('<i', numel) + b'tQ')


def rebuild(pid, offset, size, stride):
    """_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())"""
    tup = lambda xs: b'(' + b''.join(b'J' + struct.pack('<i', x) for x in xs) + b't'
    return (b'ctorch._utils\n_rebuild_tensor_v2\n(' + pid + b'J' + struct.pack('<i', offset)
            + tup(size) + tup(stride) + b'\x89ccollections\nOrderedDict\n)Rt' + b'R')


def state_dict(items):
    """{'state_dict': OrderedDict(items)} with the BUILD {'_metadata': {}} torch writes"""
    body = b''.join(binunicode(k) + v for k, v in items)
    return (b'\x80\x02}' + binunicode('state_dict') + b'ccollections\nOrderedDict\n)R(' + body
            + b'u}' + binunicode('_metadata') + b'}sbs.')


def deep_lists(depth):
    """lists nested depth deep with a shallow stack: new list, append the previous from memo 0"""
    return b'\x80\x02]q\x000' + b']h\x00aq\x000' * depth + b'h\x00.'


PROTOCOL4_DICT = (b'\x80\x04\x95\x2a\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x05paths\x94]\x94'
                  b'\x8c\x0fimages/ret0.png\x94a\x8c\x0aembeddings\x94]\x94u.')

PICKLES = {
    'os-system.pkl': b'\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85R.',
    'posix-system.pkl': b'\x80\x02cposix\nsystem\nX\x02\x00\x00\x00ls\x85R.',
    'builtin-eval.pkl': b'\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R.',
    'builtins-eval-stack-global.pkl': (b'\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94'
                                       b'\x8c\x011\x85R.'),
    'inst-check-output.pkl': b'\x80\x02(X\x02\x00\x00\x00lsisubprocess\ncheck_output\n.',
    'unknown-opcode.pkl': b'\x80\x02}\xff.',
    'absurd-nesting.pkl': b'\x80\x02' + b'(' * 10001 + b'.',
    'absurd-stack.pkl': b'\x80\x02' + b']' * 50001 + b'.',
    'deep-lists.pkl': deep_lists(1001),
    'absurd-memo.pkl': b'\x80\x02Nr\x00\x00\x00\x80.',
    'unset-memo.pkl': b'\x80\x02}j\xff\xff\xff\x7fs.',
    'truncated.pkl': PROTOCOL4_DICT[:30],
    'truncated-binunicode.pkl': b'\x80\x02X\xff\xff\xff\x7fabc',
    'no-stop.pkl': b'\x80\x02}N',
    'stack-underflow.pkl': b'\x80\x02s.',
    'self-cycle.pkl': b'\x80\x02]q\x00h\x00a.',
    'exponential.pkl': b'\x80\x02)' + b'2\x86' * 64 + b'.',
    'wide-int.pkl': b'\x80\x02\x8a\x10' + b'\x01' * 16 + b'.',
    'torch-without-zip.pkl': b'\x80\x02' + rebuild(storage_pid('0', 4), 0, [4], [1]) + b'.',
    'load-from-bytes.pkl': b'\x80\x02ctorch.storage\n_load_from_bytes\nC\x04abcd\x85R.',
    'protocol-6.pkl': b'\x80\x06N.',
    'out-of-band-buffer.pkl': b'\x80\x05\x97.',
    'numpy-object-array.pkl': (b'\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n'
                               b'K\x00\x85C\x01b\x87R(K\x01K\x01\x85cnumpy\ndtype\n'
                               b'X\x02\x00\x00\x00O8\x89\x88\x87R.'),
}


# ---------------------------------------------------------------------------------------------
# zips

def build_zip(entries, zip64=False, comment=b''):
    """entries: (name, data, method). Returns bytes laid out like torch.save's writer."""
    out = bytearray()
    offsets = []
    for name, data, method in entries:
        nb = name.encode()
        offsets.append(len(out))
        pad = (64 - (len(out) + 30 + len(nb) + 4) % 64) % 64
        out += struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0x0808, method, 0, 0, 0, 0, 0,
                           len(nb), 4 + pad)
        out += nb + struct.pack('<HH', 0x4246, pad) + b'Z' * pad + data
    directory = len(out)
    for (name, data, method), offset in zip(entries, offsets):
        nb = name.encode()
        if zip64:
            extra = struct.pack('<HHQQQ', 1, 24, len(data), len(data), offset)
            sizes = (0xffffffff, 0xffffffff, 0xffffffff)
        else:
            extra = b''
            sizes = (len(data), len(data), offset)
        out += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45, 0x0808, method, 0, 0, 0,
                           sizes[0], sizes[1], len(nb), len(extra), 0, 0, 0, 0, sizes[2])
        out += nb + extra
    size = len(out) - directory
    n = len(entries)
    if zip64:
        record = len(out)
        out += struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, n, n, size, directory)
        out += struct.pack('<IIQI', 0x07064b50, 0, record, 1)
        out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff,
                           0xffffffff, len(comment))
    else:
        out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, n, n, size, directory, len(comment))
    return bytes(out + comment)


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def patch32(data, at, value):
    return data[:at] + struct.pack('<I', value) + data[at + 4:]


def eocd(data):
    return data.rfind(b'PK\x05\x06')


def central(data, i=0):
    at = -1
    for _ in range(i + 1):
        at = data.find(b'PK\x01\x02', at + 1)
    return at


ONE_TENSOR = state_dict([('w', rebuild(storage_pid('0', 4), 0, [2, 2], [2, 1]))])
FOUR_FLOATS = struct.pack('<4f', 1, 2, 3, 4)


def torch_zip(pickle, storages, prefix='archive', extra=(), zip64=False, method=0):
    entries = [(prefix + '/data.pkl', deflate(pickle) if method == 8 else pickle, method)]
    entries += [(prefix + '/data/' + k, v, 0) for k, v in storages]
    entries += [(prefix + '/' + name, data, 0) for name, data in extra]
    entries.append((prefix + '/version', b'3\n', 0))
    return build_zip(entries, zip64=zip64)


GOOD = torch_zip(ONE_TENSOR, [('0', FOUR_FLOATS)])
GOOD64 = torch_zip(ONE_TENSOR, [('0', FOUR_FLOATS)], zip64=True)


def zip64_without_extra():
    z = bytearray(GOOD64)
    at = central(bytes(z))
    name_len = struct.unpack_from('<H', z, at + 28)[0]
    struct.pack_into('<H', z, at + 46 + name_len, 0x9999)  # the 0x0001 record renamed
    return bytes(z)


ZIPS = {
    'truncated.zip': GOOD[:len(GOOD) // 2],
    'truncated-tail.zip': GOOD[:-1],
    'eocd-past-end.zip': patch32(GOOD, eocd(GOOD) + 16, 0x7ffffff0),
    'directory-size-past-end.zip': patch32(GOOD, eocd(GOOD) + 12, 0xfffffff0),
    'entry-offset-past-end.zip': patch32(GOOD, central(GOOD, 1) + 42, 0x7ffffff0),
    'entry-size-past-end.zip': patch32(patch32(GOOD, central(GOOD, 1) + 20, 0x7ffffff0),
                                       central(GOOD, 1) + 24, 0x7ffffff0),
    'bad-central-signature.zip': patch32(GOOD, central(GOOD, 1), 0),
    'absurd-entry-count.zip': GOOD[:eocd(GOOD) + 8] + struct.pack('<HH', 0xfffe, 0xfffe)
                              + GOOD[eocd(GOOD) + 12:],
    'zip64-no-locator.zip': patch32(GOOD64, eocd(GOOD64) - 20, 0),
    'zip64-locator-past-end.zip': patch32(GOOD64, eocd(GOOD64) - 12, 0x7ffffff0),
    'zip64-without-extra.zip': zip64_without_extra(),
    'duplicate-entry.zip': build_zip([('archive/data.pkl', ONE_TENSOR, 0),
                                      ('archive/data.pkl', ONE_TENSOR, 0)]),
    'compressed-entry.zip': torch_zip(ONE_TENSOR, [('0', FOUR_FLOATS)], method=8),
    'multi-disk.zip': patch32(GOOD, eocd(GOOD) + 4, 0x00010001),
}

TORCH = {
    'compressed-pickle.pth': torch_zip(ONE_TENSOR, [('0', FOUR_FLOATS)], prefix='model', method=8),
    'storage-too-short.pth': torch_zip(ONE_TENSOR, [('0', FOUR_FLOATS[:12])]),
    'view-out-of-bounds.pth': torch_zip(
        state_dict([('w', rebuild(storage_pid('0', 4), 2, [2, 2], [2, 1]))]),
        [('0', FOUR_FLOATS)]),
    'negative-stride.pth': torch_zip(
        state_dict([('w', rebuild(storage_pid('0', 4), 0, [2, 2], [-2, 1]))]),
        [('0', FOUR_FLOATS)]),
    'missing-storage.pth': torch_zip(ONE_TENSOR, []),
    'big-endian.pth': torch_zip(ONE_TENSOR, [('0', struct.pack('>4f', 1, 2, 3, 4))],
                                extra=[('byteorder', b'big')]),
    'os-system.pth': torch_zip(PICKLES['os-system.pkl'], []),
    'no-data-pkl.pth': build_zip([('archive/version', b'3\n', 0)]),
    'two-pickles.pth': build_zip([('a/data.pkl', ONE_TENSOR, 0), ('b/data.pkl', ONE_TENSOR, 0)]),
    'legacy-format.pth': (b'\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.'
                          b'\x80\x02M\xe9\x03.'),
    'not-a-checkpoint.pth': b'<html>404 Not Found</html>\n',
    'empty.pth': b'',
}


def write(folder, files):
    path = os.path.join(HERE, folder)
    os.makedirs(path, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(path, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    write('pickle', PICKLES)
    write('zip', ZIPS)
    write('torch', TORCH)
    # the uncorrupted twins, as fuzz seeds
    seeds = os.path.join(HERE, '..', 'fuzz')
    with open(os.path.join(seeds, 'zip.corpus', 'torch-like.zip'), 'wb') as f:
        f.write(GOOD)
    with open(os.path.join(seeds, 'zip.corpus', 'torch-like-zip64.zip'), 'wb') as f:
        f.write(GOOD64)
    with open(os.path.join(seeds, 'pickle.corpus', 'state-dict.pkl'), 'wb') as f:
        f.write(ONE_TENSOR)
