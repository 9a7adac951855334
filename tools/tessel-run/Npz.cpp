//===- Npz.cpp - Read and write NumPy .npz archives -----------------------===//
//
// Zip: the end-of-central-directory record (zip64 too) gives the central
// directory, whose entries give each member's method, sizes, CRC and local
// header. Members are stored (method 0) or deflated (method 8, via zlib).
// Npy: magic, version, header length, a Python dict literal with `descr`,
// `fortran_order` and `shape`, then the data.
//
//===----------------------------------------------------------------------===//

#include "tools/tessel-run/Npz.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

using namespace tessel::npz;
using tessel::npz::printable;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "npz data is read and written as little-endian");

namespace {

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

struct DtypeSpelling {
  tessel_dtype dtype;
  char kind; // NumPy's kind character
  int size;
  const char *numpy;
};

const DtypeSpelling kDtypes[] = {
    {TESSEL_DTYPE_F32, 'f', 4, "float32"},
    {TESSEL_DTYPE_F64, 'f', 8, "float64"},
    {TESSEL_DTYPE_F16, 'f', 2, "float16"},
    {TESSEL_DTYPE_I8, 'i', 1, "int8"},
    {TESSEL_DTYPE_I16, 'i', 2, "int16"},
    {TESSEL_DTYPE_I32, 'i', 4, "int32"},
    {TESSEL_DTYPE_I64, 'i', 8, "int64"},
    {TESSEL_DTYPE_U8, 'u', 1, "uint8"},
    {TESSEL_DTYPE_U16, 'u', 2, "uint16"},
    {TESSEL_DTYPE_U32, 'u', 4, "uint32"},
    {TESSEL_DTYPE_U64, 'u', 8, "uint64"},
    {TESSEL_DTYPE_BOOL, 'b', 1, "bool"},
};

/// `<f4`, `|u1`, ... -> dtype; "" on success, else why not.
std::string parseDescr(const std::string &descr, tessel_dtype &dtype) {
  dtype = TESSEL_DTYPE_INVALID;
  if (descr.size() < 3)
    return "unsupported dtype '" + printable(descr) + "'";
  char order = descr[0], kind = descr[1];
  int size = 0;
  for (size_t i = 2; i < descr.size(); ++i) {
    if (descr[i] < '0' || descr[i] > '9' || size > 1000)
      return "unsupported dtype '" + printable(descr) + "'";
    size = size * 10 + (descr[i] - '0');
  }
  for (const DtypeSpelling &d : kDtypes) {
    if (d.kind != kind || d.size != size)
      continue;
    if (order == '>' && size > 1)
      return "dtype '" + printable(descr) +
             "' is big-endian; only little-endian arrays are supported";
    if (order != '<' && order != '|' && order != '=' && order != '>')
      break;
    dtype = d.dtype;
    return "";
  }
  return "unsupported dtype '" + printable(descr) +
         "' (supported: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)";
}

std::string descrOf(tessel_dtype dtype) {
  for (const DtypeSpelling &d : kDtypes)
    if (d.dtype == dtype)
      return std::string(d.size == 1 ? "|" : "<") + d.kind +
             std::to_string(d.size);
  if (dtype == TESSEL_DTYPE_BF16)
    return "<u2"; // NumPy has no bfloat16: the raw bits
  return "";
}

//===----------------------------------------------------------------------===//
// Npy header: a Python dict literal
//===----------------------------------------------------------------------===//

class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : s(text) {}

  /// Fills descr/fortran/shape; "" on success, else why not.
  std::string parse(std::string &descr, bool &fortran,
                    std::vector<int64_t> &shape) {
    bool sawDescr = false, sawFortran = false, sawShape = false;
    skipSpace();
    if (!eat('{'))
      return "the header is not a Python dict";
    while (true) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (!parseString(key))
        return "a key of the header dict is not a string";
      skipSpace();
      if (!eat(':'))
        return "expected ':' after '" + printable(key) + "' in the header";
      skipSpace();
      if (key == "descr") {
        if (peek() == '[')
          return "structured dtypes are not supported";
        if (!parseString(descr))
          return "'descr' is not a string";
        sawDescr = true;
      } else if (key == "fortran_order") {
        if (!parseBool(fortran))
          return "'fortran_order' is not True or False";
        sawFortran = true;
      } else if (key == "shape") {
        if (!parseShape(shape))
          return "'shape' is not a tuple of non-negative integers";
        sawShape = true;
      } else {
        return "unexpected key '" + printable(key) + "' in the header";
      }
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat('}'))
        break;
      return "malformed header dict";
    }
    if (!sawDescr || !sawFortran || !sawShape)
      return "the header lacks 'descr', 'fortran_order' or 'shape'";
    return "";
  }

private:
  char peek() const { return i < s.size() ? s[i] : '\0'; }
  bool eat(char c) {
    if (peek() != c)
      return false;
    ++i;
    return true;
  }
  void skipSpace() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
      ++i;
  }
  bool parseString(std::string &out) {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return false;
    ++i;
    size_t end = s.find(quote, i);
    if (end == std::string::npos)
      return false;
    out = s.substr(i, end - i);
    i = end + 1;
    return true;
  }
  bool parseBool(bool &out) {
    if (s.compare(i, 4, "True") == 0) {
      i += 4;
      out = true;
      return true;
    }
    if (s.compare(i, 5, "False") == 0) {
      i += 5;
      out = false;
      return true;
    }
    return false;
  }
  bool parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!eat('('))
      return false;
    while (true) {
      skipSpace();
      if (eat(')'))
        return true;
      if (peek() < '0' || peek() > '9')
        return false;
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_MAX - 9) / 10)
          return false;
        v = v * 10 + (s[i++] - '0');
      }
      eat('L'); // Python 2
      shape.push_back(v);
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat(')'))
        return true;
      return false;
    }
  }

  const std::string &s;
  size_t i = 0;
};

/// Parses one .npy member (`bytes`); "" on success, else why not.
std::string parseNpy(const std::vector<char> &bytes, Array &array) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    return "not a .npy array (bad magic)";
  unsigned major = (unsigned char)bytes[6], minor = (unsigned char)bytes[7];
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = (unsigned char)bytes[8] | ((unsigned char)bytes[9] << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return "truncated .npy header";
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    headerLen = len;
    headerStart = 12;
  } else {
    return "unsupported .npy format version " + std::to_string(major) + "." +
           std::to_string(minor) + " (supported: 1.x, 2.x, 3.x)";
  }
  if (headerLen > bytes.size() - headerStart)
    return "truncated .npy header";
  std::string header(bytes.data() + headerStart, headerLen);
  std::string descr;
  bool fortran = false;
  std::string why = HeaderParser(header).parse(descr, fortran, array.shape);
  if (!why.empty())
    return "bad .npy header (" + why + "): " + printable(header);
  array.descr = descr;
  why = parseDescr(descr, array.dtype);
  if (!why.empty())
    return why;
  if (fortran && array.shape.size() > 1)
    return "the array is in Fortran order; only C order is supported "
           "(save np.ascontiguousarray(a))";
  size_t elements = 1;
  for (int64_t d : array.shape)
    if (__builtin_mul_overflow(elements, (size_t)d, &elements))
      return "the shape is too large";
  size_t elementSize = tessel_dtype_size(array.dtype), need;
  if (__builtin_mul_overflow(elements, elementSize, &need))
    return "the shape is too large";
  size_t have = bytes.size() - headerStart - headerLen;
  if (have != need)
    return "the data is " + std::to_string(have) + " bytes, but dtype '" +
           printable(descr) + "' and shape need " + std::to_string(need) +
           (have < need ? " (truncated)" : "");
  array.data.assign(bytes.begin() + headerStart + headerLen, bytes.end());
  return "";
}

//===----------------------------------------------------------------------===//
// Zip
//===----------------------------------------------------------------------===//

uint16_t u16(const unsigned char *p) { return p[0] | (p[1] << 8); }
uint32_t u32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
uint64_t u64(const unsigned char *p) {
  return (uint64_t)u32(p) | ((uint64_t)u32(p + 4) << 32);
}

struct Member {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressedSize = 0, size = 0, localOffset = 0;
};

class ZipReader {
public:
  ZipReader(const std::vector<unsigned char> &file, const std::string &path)
      : f(file), path(path) {}

  bool members(std::vector<Member> &out, std::string &error) {
    uint64_t entries, cdSize, cdOffset;
    if (!findCentralDirectory(entries, cdSize, cdOffset, error))
      return false;
    if (cdOffset > f.size() || cdSize > f.size() - cdOffset)
      return fail("its central directory lies past the end of the file "
                  "(truncated?)",
                  error);
    uint64_t p = cdOffset, end = cdOffset + cdSize;
    for (uint64_t n = 0; n < entries; ++n) {
      if (end - p < 46 || u32(&f[p]) != 0x02014b50)
        return fail("its central directory is corrupt (truncated?)", error);
      const unsigned char *e = &f[p];
      Member m;
      m.flags = u16(e + 8);
      m.method = u16(e + 10);
      m.crc = u32(e + 16);
      m.compressedSize = u32(e + 20);
      m.size = u32(e + 24);
      uint16_t nameLen = u16(e + 28), extraLen = u16(e + 30),
               commentLen = u16(e + 32);
      m.localOffset = u32(e + 42);
      if (end - p < 46ull + nameLen + extraLen + commentLen)
        return fail("its central directory is corrupt (truncated?)", error);
      m.name.assign(reinterpret_cast<const char *>(e + 46), nameLen);
      readZip64Extra(e + 46 + nameLen, extraLen, m);
      out.push_back(std::move(m));
      p += 46ull + nameLen + extraLen + commentLen;
    }
    return true;
  }

  bool extract(const Member &m, std::vector<char> &out, std::string &error) {
    std::string what = "member '" + printable(m.name) + "'";
    if (m.flags & 1)
      return fail(what + " is encrypted", error);
    uint64_t p = m.localOffset;
    if (p > f.size() || f.size() - p < 30 || u32(&f[p]) != 0x04034b50)
      return fail(what + " has no local header (truncated or corrupt)", error);
    uint64_t start = p + 30 + u16(&f[p + 26]) + u16(&f[p + 28]);
    if (start > f.size() || m.compressedSize > f.size() - start)
      return fail(what + " extends past the end of the file (truncated)",
                  error);
    const unsigned char *data = &f[start];
    if (m.method == 0) {
      if (m.compressedSize != m.size)
        return fail(what + " is stored with different sizes (corrupt)", error);
      out.assign(data, data + m.size);
    } else if (m.method == 8) {
      // Deflate expands at most ~1032:1; larger claims are corrupt headers.
      if (m.size / 1032 > m.compressedSize + 1)
        return fail(what + " claims an impossible size (corrupt)", error);
      out.resize(m.size);
      if (!inflateRaw(data, m.compressedSize, out))
        return fail(what + " does not inflate (truncated or corrupt)", error);
    } else {
      return fail(what + " uses compression method " +
                      std::to_string(m.method) +
                      "; only stored (0) and deflate (8) are supported",
                  error);
    }
    uLong crc =
        crc32_z(0, reinterpret_cast<const Bytef *>(out.data()), out.size());
    if (crc != m.crc)
      return fail(what + " fails its CRC check (corrupt)", error);
    return true;
  }

private:
  bool fail(const std::string &why, std::string &error) {
    error = "'" + path + "' is not a valid npz archive: " + why;
    return false;
  }

  bool findCentralDirectory(uint64_t &entries, uint64_t &cdSize,
                            uint64_t &cdOffset, std::string &error) {
    if (f.size() < 22)
      return fail("it is too short for a zip archive (truncated?)", error);
    uint64_t lowest = f.size() >= 22 + 65535 ? f.size() - 22 - 65535 : 0;
    for (uint64_t p = f.size() - 22 + 1; p-- > lowest;) {
      if (u32(&f[p]) != 0x06054b50)
        continue;
      entries = u16(&f[p + 10]);
      cdSize = u32(&f[p + 12]);
      cdOffset = u32(&f[p + 16]);
      if (entries == 0xffff || cdSize == 0xffffffff || cdOffset == 0xffffffff)
        return readZip64End(p, entries, cdSize, cdOffset, error);
      return true;
    }
    return fail("it has no end-of-central-directory record (not a zip file, "
                "or truncated)",
                error);
  }

  bool readZip64End(uint64_t eocd, uint64_t &entries, uint64_t &cdSize,
                    uint64_t &cdOffset, std::string &error) {
    if (eocd < 20 || u32(&f[eocd - 20]) != 0x07064b50)
      return fail("its zip64 locator is missing", error);
    uint64_t p = u64(&f[eocd - 20 + 8]);
    if (p > f.size() || f.size() - p < 56 || u32(&f[p]) != 0x06064b50)
      return fail("its zip64 end record is corrupt", error);
    entries = u64(&f[p + 32]);
    cdSize = u64(&f[p + 40]);
    cdOffset = u64(&f[p + 48]);
    return true;
  }

  static void readZip64Extra(const unsigned char *x, uint16_t len, Member &m) {
    size_t i = 0;
    while (i + 4 <= len) {
      uint16_t id = u16(x + i), size = u16(x + i + 2);
      if (i + 4 + size > len)
        return;
      if (id == 0x0001) {
        const unsigned char *v = x + i + 4;
        size_t used = 0;
        auto next = [&](uint64_t &field) {
          if (used + 8 <= size) {
            field = u64(v + used);
            used += 8;
          }
        };
        if (m.size == 0xffffffff)
          next(m.size);
        if (m.compressedSize == 0xffffffff)
          next(m.compressedSize);
        if (m.localOffset == 0xffffffff)
          next(m.localOffset);
      }
      i += 4 + size;
    }
  }

  static bool inflateRaw(const unsigned char *in, uint64_t inSize,
                         std::vector<char> &out) {
    z_stream z;
    std::memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
      return false;
    uint64_t inDone = 0, outDone = 0;
    bool ok = false;
    while (true) {
      // zlib counts in uInt: feed at most 1 GiB at a time.
      uInt inChunk = (uInt)std::min<uint64_t>(inSize - inDone, 1u << 30);
      uInt outChunk = (uInt)std::min<uint64_t>(out.size() - outDone, 1u << 30);
      z.next_in = const_cast<Bytef *>(in + inDone);
      z.avail_in = inChunk;
      z.next_out = reinterpret_cast<Bytef *>(out.data() + outDone);
      z.avail_out = outChunk;
      int rc = inflate(&z, Z_NO_FLUSH);
      uint64_t consumed = inChunk - z.avail_in,
               produced = outChunk - z.avail_out;
      inDone += consumed;
      outDone += produced;
      if (rc == Z_STREAM_END) {
        ok = outDone == out.size();
        break;
      }
      if ((rc != Z_OK && rc != Z_BUF_ERROR) || (consumed == 0 && produced == 0))
        break; // corrupt, or truncated: no progress possible
    }
    inflateEnd(&z);
    return ok;
  }

  const std::vector<unsigned char> &f;
  const std::string &path;
};

bool readFile(const std::string &path, std::vector<unsigned char> &out,
              std::string &error) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::unique_ptr<FILE, int (*)(FILE *)> closer(file, std::fclose);
  out.clear();
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0)
    out.insert(out.end(), buf, buf + n);
  if (std::ferror(file)) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

std::string npyHeader(const std::string &descr,
                      const std::vector<int64_t> &shape) {
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, " + "'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1)
    dict += ",";
  dict += "), }";
  // Magic (6) + version (2) + length (2) + dict + padding + '\n', a multiple
  // of 64 as NumPy writes it.
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

void put16(std::string &s, uint16_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>(v >> 8);
}
void put32(std::string &s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

} // namespace

size_t Array::elementCount() const {
  size_t n = 1;
  for (int64_t d : shape)
    n *= (size_t)d;
  return n;
}

const char *tessel::npz::numpyName(tessel_dtype dtype) {
  for (const DtypeSpelling &d : kDtypes)
    if (d.dtype == dtype)
      return d.numpy;
  if (dtype == TESSEL_DTYPE_BF16)
    return "bfloat16";
  return "unknown";
}

/// `text` from a file, fit for a message: other bytes than printable ASCII
/// as \xNN.
std::string tessel::npz::printable(const std::string &text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

bool tessel::npz::readNpz(const std::string &path, std::vector<Array> &arrays,
                          std::string &error) {
  arrays.clear();
  std::vector<unsigned char> file;
  if (!readFile(path, file, error))
    return false;
  ZipReader zip(file, path);
  std::vector<Member> members;
  if (!zip.members(members, error))
    return false;
  for (const Member &m : members) {
    if (m.name.size() > 0 && m.name.back() == '/')
      continue; // a directory
    std::vector<char> bytes;
    if (!zip.extract(m, bytes, error))
      return false;
    Array array;
    array.name = m.name;
    if (array.name.size() > 4 &&
        array.name.compare(array.name.size() - 4, 4, ".npy") == 0)
      array.name.resize(array.name.size() - 4);
    std::string why = parseNpy(bytes, array);
    if (!why.empty()) {
      error = "'" + path + "', array '" + printable(array.name) + "': " + why;
      return false;
    }
    for (const Array &other : arrays)
      if (other.name == array.name) {
        error = "'" + path + "' holds two arrays named '" +
                printable(array.name) + "'";
        return false;
      }
    arrays.push_back(std::move(array));
  }
  return true;
}

bool tessel::npz::writeNpz(const std::string &path,
                           const std::vector<ArrayView> &arrays,
                           std::string &error,
                           std::vector<std::string> &notes) {
  std::string temp = path + ".tmp-XXXXXX";
  std::vector<char> tempName(temp.begin(), temp.end());
  tempName.push_back('\0');
  int fd = ::mkstemp(tempName.data());
  if (fd < 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  // mkstemp makes the file 0600; give it the mode a plain fopen would.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  FILE *file = ::fdopen(fd, "wb");
  if (!file) {
    ::close(fd);
    ::unlink(tempName.data());
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  auto abandon = [&](const std::string &why) {
    std::fclose(file);
    ::unlink(tempName.data());
    error = "cannot write '" + path + "': " + why;
    return false;
  };

  std::string central;
  uint64_t offset = 0;
  for (const ArrayView &a : arrays) {
    std::string descr = descrOf(a.dtype);
    if (descr.empty())
      return abandon("output '" + a.name + "' has a dtype NumPy cannot hold");
    if (a.dtype == TESSEL_DTYPE_BF16)
      notes.push_back("output '" + a.name +
                      "' is bfloat16, which NumPy lacks: written as its raw "
                      "bits, dtype uint16");
    std::string name = a.name + ".npy";
    std::string header = npyHeader(descr, a.shape);
    uint64_t size = header.size() + a.bytes;
    if (size >= 0xffffffffull || offset >= 0xffffffffull ||
        name.size() > 0xffff)
      return abandon("the archive would need zip64 (over 4 GiB), which this "
                     "writer does not support");
    uLong crc = crc32_z(0, reinterpret_cast<const Bytef *>(header.data()),
                        header.size());
    crc = crc32_z(crc, static_cast<const Bytef *>(a.data), a.bytes);

    std::string local;
    put32(local, 0x04034b50);
    put16(local, 20);   // version needed: 2.0
    put16(local, 0);    // flags
    put16(local, 0);    // method: stored
    put16(local, 0);    // time
    put16(local, 0x21); // date: 1980-01-01
    put32(local, (uint32_t)crc);
    put32(local, (uint32_t)size);
    put32(local, (uint32_t)size);
    put16(local, (uint16_t)name.size());
    put16(local, 0); // extra length
    local += name;

    put32(central, 0x02014b50);
    put16(central, (3 << 8) | 20); // made by: Unix, 2.0
    put16(central, 20);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, (uint32_t)crc);
    put32(central, (uint32_t)size);
    put32(central, (uint32_t)size);
    put16(central, (uint16_t)name.size());
    put16(central, 0);           // extra
    put16(central, 0);           // comment
    put16(central, 0);           // disk
    put16(central, 0);           // internal attributes
    put32(central, 0600u << 16); // external attributes: -rw-------
    put32(central, (uint32_t)offset);
    central += name;

    if (std::fwrite(local.data(), 1, local.size(), file) != local.size() ||
        std::fwrite(header.data(), 1, header.size(), file) != header.size() ||
        (a.bytes && std::fwrite(a.data, 1, a.bytes, file) != a.bytes))
      return abandon(std::strerror(errno));
    offset += local.size() + size;
  }
  if (offset >= 0xffffffffull || arrays.size() >= 0xffff)
    return abandon("the archive would need zip64, which this writer does not "
                   "support");
  std::string end;
  put32(end, 0x06054b50);
  put16(end, 0);
  put16(end, 0);
  put16(end, (uint16_t)arrays.size());
  put16(end, (uint16_t)arrays.size());
  put32(end, (uint32_t)central.size());
  put32(end, (uint32_t)offset);
  put16(end, 0); // comment length
  if (std::fwrite(central.data(), 1, central.size(), file) != central.size() ||
      std::fwrite(end.data(), 1, end.size(), file) != end.size())
    return abandon(std::strerror(errno));
  if (std::fclose(file) != 0) {
    ::unlink(tempName.data());
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  if (std::rename(tempName.data(), path.c_str()) != 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    ::unlink(tempName.data());
    return false;
  }
  return true;
}
