#include <cstddef>
using namespace std;

class IntBuffer {
    int* data_;
    size_t size_;
public:
    explicit IntBuffer(size_t n) : data_(new int[n]()), size_(n) {}
    IntBuffer(const IntBuffer&) = delete;
    IntBuffer& operator=(const IntBuffer&) = delete;
    ~IntBuffer() { delete[] data_; }
    int& operator[](size_t i) { return data_[i]; }
    size_t size() const { return size_; }
};

long long bufferDemo(int n) {
    IntBuffer b(n);
    for (int i = 0; i < n; ++i) b[i] = i * i;
    long long s = 0;
    for (size_t i = 0; i < b.size(); ++i) s += b[i];
    int* p = new int(5);
    s += *p;
    delete p;
    p = nullptr;
    return s;
}
