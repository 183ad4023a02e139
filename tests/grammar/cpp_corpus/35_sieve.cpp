#include <vector>
using namespace std;

vector<int> primesUpTo(int n) {
    vector<bool> composite(n + 1, false);
    vector<int> primes;
    for (int i = 2; i <= n; ++i) {
        if (!composite[i]) {
            primes.push_back(i);
            for (long long j = 1LL * i * i; j <= n; j += i) composite[j] = true;
        }
    }
    return primes;
}
