#include <vector>
#include <algorithm>
using namespace std;

long long knapsack(int W, const vector<int>& wt, const vector<long long>& val) {
    vector<long long> dp(W + 1, 0LL);
    for (size_t i = 0; i < wt.size(); i++) {
        for (int w = W; w >= wt[i]; --w) {
            dp[w] = max(dp[w], dp[w - wt[i]] + val[i]);
        }
    }
    return *max_element(dp.begin(), dp.end());
}
