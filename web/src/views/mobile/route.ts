// Links that hand a matter's point (WGS84, as stored) to a map app for the way there. They are
// only links: nothing is fetched from those hosts unless the worker follows one.

/** geo: URI (RFC 5870, WGS84), which Android offers to any installed map app; and AMap's
 *  (高德) navigation page, told the point is WGS84, which opens the AMap app when present. */
export function routeLinks(lon: number, lat: number, name: string): { geo: string; amap: string } {
  const x = lon.toFixed(6)
  const y = lat.toFixed(6)
  // Brackets end the geo: label, and a comma would split AMap's "lon,lat,name".
  const label = name.replace(/[(),]/g, ' ').trim()
  const amap = new URL('https://uri.amap.com/navigation')
  amap.searchParams.set('to', `${x},${y},${label}`)
  amap.searchParams.set('mode', 'car')
  amap.searchParams.set('coordinate', 'wgs84')
  amap.searchParams.set('callnative', '1')
  amap.searchParams.set('src', 'fengqiao')
  return {
    geo: `geo:${y},${x}?q=${y},${x}(${encodeURIComponent(label)})`,
    amap: amap.toString(),
  }
}
