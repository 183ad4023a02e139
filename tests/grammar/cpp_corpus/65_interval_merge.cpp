#include <vector>
#include <algorithm>
using namespace std;

vector<vector<int>> merge(vector<vector<int>>& intervals) {
    if (intervals.empty()) return {};
    sort(intervals.begin(), intervals.end());
    vector<vector<int>> out{intervals[0]};
    for (size_t i = 1; i < intervals.size(); ++i) {
        auto& last = out.back();
        if (intervals[i][0] <= last[1]) last[1] = max(last[1], intervals[i][1]);
        else out.push_back(intervals[i]);
    }
    return out;
}
