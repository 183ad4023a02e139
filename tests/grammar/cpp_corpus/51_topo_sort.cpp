#include <vector>
#include <queue>
using namespace std;

vector<int> topoSort(int n, const vector<pair<int, int>>& edges) {
    vector<vector<int>> g(n);
    vector<int> indeg(n, 0), order;
    for (auto [u, v] : edges) {
        g[u].push_back(v);
        ++indeg[v];
    }
    queue<int> q;
    for (int i = 0; i < n; ++i) if (indeg[i] == 0) q.push(i);
    while (!q.empty()) {
        int u = q.front(); q.pop();
        order.push_back(u);
        for (int v : g[u]) if (--indeg[v] == 0) q.push(v);
    }
    if ((int)order.size() != n) return {};
    return order;
}
