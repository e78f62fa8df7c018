#!/usr/bin/env python3
"""Writes tests/clip/vision-bin/: tiny-clip's vision tower saved the way CLIPVisionModel
.save_pretrained(safe_serialization=False) saves it — config.json (model_type clip_vision_model)
and pytorch_model.bin, a torch.save zip of the OrderedDict state dict (vision_model.* only, with
the int64 position_ids buffer, no visual_projection) — for tests/test-clip.c: the vision part
alone, from a .bin.

The tensors are copied bit for bit from ../shared/fixtures/tiny-clip/model/model.safetensors, so
tiny-clip's goldens hold. The zip is laid out by hand with make-broken-torch.py's helpers (no
torch). Dev tool only; the outputs are committed. Run from anywhere: python3 make-clip-cases.py
"""
import importlib.util
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, '..', '..', '..', 'shared', 'fixtures', 'tiny-clip', 'model')

spec = importlib.util.spec_from_file_location(
    'torchzip', os.path.join(HERE, '..', 'broken', 'make-broken-torch.py'))
torchzip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torchzip)


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        begin, end = entry['data_offsets']
        out[name] = (entry['dtype'], entry['shape'], data[8 + n + begin:8 + n + end])
    return out


def contiguous_strides(shape):
    strides, acc = [], 1
    for d in reversed(shape):
        strides.insert(0, acc)
        acc *= d
    return strides


def main():
    tensors = read_safetensors(os.path.join(FIXTURE, 'model.safetensors'))
    names = sorted(k for k in tensors if k.startswith('vision_model.'))
    items, entries = [], []
    for i, name in enumerate(names):
        dtype, shape, raw = tensors[name]
        cls, size = {'F32': ('FloatStorage', 4), 'I64': ('LongStorage', 8)}[dtype]
        numel = len(raw) // size
        pid = torchzip.storage_pid(str(i), numel, cls)
        items.append((name, torchzip.rebuild(pid, 0, shape, contiguous_strides(shape))))
        entries.append(('pytorch_model/data/%d' % i, raw, 0))
    body = b''.join(torchzip.binunicode(k) + v for k, v in items)
    pickle = b'\x80\x02ccollections\nOrderedDict\n)R(' + body + b'u.'
    zipped = torchzip.build_zip([('pytorch_model/data.pkl', pickle, 0)] + entries
                                + [('pytorch_model/version', b'3\n', 0)])
    out = os.path.join(HERE, 'vision-bin')
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'pytorch_model.bin'), 'wb') as f:
        f.write(zipped)
    with open(os.path.join(FIXTURE, 'config.json')) as f:
        full = json.load(f)
    config = dict(full['vision_config'])
    config.update({'architectures': ['CLIPVisionModel'], 'model_type': 'clip_vision_model',
                   'torch_dtype': 'float32', 'transformers_version': '4.30.2'})
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
