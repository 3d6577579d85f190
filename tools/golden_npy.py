"""Golden fixtures for descent's NumPy file reader (parseNpy, parseNpz in src/io/npy.ts).

Run with /usr/bin/python3 (NumPy):  /usr/bin/python3 tools/golden_npy.py
Writes test/fixtures/npy/*.npy and *.npz, written by NumPy's own np.save, np.savez and
np.savez_compressed, and test/fixtures/npy/expected.json: for each array its dtype name, shape and
values in C order as NumPy's tolist() gives them (NaN and ±inf as the strings "nan", "inf", "-inf";
bool as 0/1).

The arrays cover every dtype descent reads (bool, int8 … uint64, float16, float32, float64) in both
byte orders, Fortran order (a 2-D and a 3-D array), 0-d and empty arrays, a header of format 2.0
(np.lib.format.write_array with version=(2, 0)), an npz of several arrays stored and one compressed (NumPy forces ZIP64 entries),
and a Keras-style data set (x_train, y_train, x_test, y_test). Files descent refuses: a unicode
array, an object array, a structured array, complex numbers, an int64 beyond 2^53.
"""
import io
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'npy')


def values(a):
    flat = np.ascontiguousarray(a).reshape(-1)
    out = []
    for v in flat.tolist():
        if isinstance(v, bool):
            out.append(int(v))
        elif isinstance(v, float) and (v != v or v in (float('inf'), float('-inf'))):
            out.append('nan' if v != v else ('inf' if v > 0 else '-inf'))
        else:
            out.append(v)
    return out


def describe(a):
    names = {
        'b1': 'bool', 'i1': 'int8', 'u1': 'uint8', 'i2': 'int16', 'u2': 'uint16', 'i4': 'int32',
        'u4': 'uint32', 'i8': 'int64', 'u8': 'uint64', 'f2': 'float16', 'f4': 'float32', 'f8': 'float64',
    }
    return {'dtype': names[a.dtype.str[1:]], 'shape': list(a.shape), 'values': values(a)}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    expected = {}

    def save(name, a, **kw):
        path = os.path.join(OUT, name)
        if 'version' in kw:
            with open(path, 'wb') as f:
                np.lib.format.write_array(f, a, version=kw['version'])
        else:
            np.save(path, a)
        back = np.load(path)
        assert back.dtype == a.dtype and back.shape == a.shape
        expected[name] = describe(a)

    floats = rng.standard_normal((3, 5))
    special = np.array([0.0, -0.0, 1.5, np.nan, np.inf, -np.inf, 1e-40, 3.4e38, 65504.0, 6e-8])
    save('f4.npy', floats.astype('<f4'))
    save('f8.npy', floats.astype('<f8'))
    save('f4-big-endian.npy', floats.astype('>f4'))
    save('f8-big-endian.npy', floats.astype('>f8'))
    save('f4-special.npy', special.astype('<f4'))
    save('f8-special.npy', special)
    with np.errstate(over='ignore'):  # 3.4e38 becomes float16's inf, as intended
        save('f2.npy', special.astype('<f2'))
        save('f2-big-endian.npy', special.astype('>f2'))
    save('bool.npy', np.array([[True, False, True], [False, False, True]]))
    save('i1.npy', np.array([-128, -1, 0, 1, 127], dtype='i1'))
    save('u1.npy', rng.integers(0, 256, (2, 3, 4), dtype='u1'))
    save('i2-big-endian.npy', np.array([-32768, -2, 0, 3, 32767], dtype='>i2'))
    save('u2.npy', np.array([0, 1, 65535], dtype='<u2'))
    save('i4.npy', np.array([-(2**31), -5, 0, 7, 2**31 - 1], dtype='<i4'))
    save('u4-big-endian.npy', np.array([0, 1, 2**32 - 1], dtype='>u4'))
    save('i8.npy', np.array([-(2**53), -3, 0, 9, 2**53], dtype='<i8'))
    save('i8-big-endian.npy', np.array([[-7, 0], [2**40, 5]], dtype='>i8'))
    save('u8.npy', np.array([0, 2**53], dtype='<u8'))
    save('fortran-2d.npy', np.asfortranarray(np.arange(12, dtype='<f4').reshape(3, 4)))
    save('fortran-3d.npy', np.asfortranarray(np.arange(24, dtype='<i4').reshape(2, 3, 4)))
    save('scalar.npy', np.array(2.5, dtype='<f8'))
    save('empty.npy', np.zeros((0, 3), dtype='<f4'))
    save('version2.npy', np.arange(6, dtype='<f4').reshape(2, 3), version=(2, 0))

    # Files descent refuses (each with its own message): not written into expected.json.
    np.save(os.path.join(OUT, 'refused-unicode.npy'), np.array(['a', 'bc']))
    np.save(os.path.join(OUT, 'refused-object.npy'), np.array([1, 'a', None], dtype=object), allow_pickle=True)
    np.save(os.path.join(OUT, 'refused-structured.npy'), np.zeros(2, dtype=[('a', '<f4'), ('b', '<i4')]))
    np.save(os.path.join(OUT, 'refused-complex.npy'), np.array([1 + 2j], dtype='<c8'))
    np.save(os.path.join(OUT, 'refused-int64-range.npy'), np.array([2**53 + 1], dtype='<i8'))

    npz = {'a': floats.astype('<f4'), 'b': np.array([3, 1, 2], dtype='<i8'), 'c': np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3))}
    for name, writer in (('stored.npz', np.savez), ('compressed.npz', np.savez_compressed)):
        path = os.path.join(OUT, name)
        writer(path, **npz)
        with np.load(path) as f:
            assert sorted(f.files) == ['a', 'b', 'c']
        expected[name] = {k: describe(v) for k, v in npz.items()}

    # A Keras-style data set (keras.datasets.mnist's mnist.npz layout), channels last and uint8.
    keras = {
        'x_train': rng.integers(0, 256, (6, 5, 3, 1), dtype='u1'),
        'y_train': np.array([0, 1, 2, 0, 1, 2], dtype='u1'),
        'x_test': rng.integers(0, 256, (3, 5, 3, 1), dtype='u1'),
        'y_test': np.array([2, 0, 1], dtype='u1'),
    }
    np.savez_compressed(os.path.join(OUT, 'keras-style.npz'), **keras)
    expected['keras-style.npz'] = {k: describe(v) for k, v in keras.items()}

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
