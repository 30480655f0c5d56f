export default {
  zh: {
    app: { name: '枫桥', full: '枫桥 · 基层社会治理平台', language: 'English', logout: '退出', loading: '加载中…', nav: '主导航' },
    login: {
      title: '登录', username: '用户名', password: '密码', submit: '登录', failed: '登录失败',
      hint: "演示账号见启动时打印的清单，密码 Fengqiao{'@'}2026",
    },
    nav: {
      inbox: '事件受理', map: '一张图', tasks: '我的任务', dashboard: '驾驶舱', admin: '系统管理',
      worker: '网格工作台', report: '上报事件',
    },
    common: {
      save: '保存', cancel: '取消', confirm: '确定', search: '查询', reset: '重置', refresh: '刷新',
      none: '无', all: '全部', yes: '是', no: '否', back: '返回', saved: '已保存', total: '共 {n} 条',
      actions: '操作', detail: '详情', error: '出错了', export: '导出表格',
    },
    form: {
      required: '请填写{field}', choose: '请选择{field}', tooLong: '{field}不能超过 {n} 个字', pick: '请选择',
      suggested: '（建议）', matterHint: '事件编号或 ID', noSuchMatter: '{field}：找不到该事件，或您无权查看',
      fieldError: '{field}：{message}', invalid: '输入有误：{message}',
    },
    placeSearch: {
      placeholder: '输入名称查找区划或网格', placeholderRegions: '输入名称查找区划', none: '没有匹配的区划或网格',
      loading: '查找中…', within: '{kind} · {parent}',
    },
    urgency: { normal: '一般', urgent: '紧急', critical: '特急' },
    deadline: { green: '正常', yellow: '临期', red: '超期' },
  },
  en: {
    app: { name: 'Fengqiao', full: 'Fengqiao · grassroots governance', language: '中文', logout: 'Log out', loading: 'Loading…', nav: 'Main navigation' },
    login: {
      title: 'Log in', username: 'User name', password: 'Password', submit: 'Log in', failed: 'Login failed',
      hint: "Demo accounts are printed at start-up; password Fengqiao{'@'}2026",
    },
    nav: {
      inbox: 'Inbox', map: 'Map', tasks: 'My tasks', dashboard: 'Dashboard', admin: 'Administration',
      worker: 'Grid work', report: 'Report',
    },
    common: {
      save: 'Save', cancel: 'Cancel', confirm: 'OK', search: 'Search', reset: 'Reset', refresh: 'Refresh',
      none: 'None', all: 'All', yes: 'Yes', no: 'No', back: 'Back', saved: 'Saved', total: '{n} in all',
      actions: 'Actions', detail: 'Details', error: 'Something went wrong', export: 'Export to Excel',
    },
    form: {
      required: 'Please fill in: {field}', choose: 'Please choose: {field}', tooLong: '{field}: at most {n} characters',
      pick: 'Choose', suggested: ' (suggested)', matterHint: 'Matter number or id',
      noSuchMatter: '{field}: no such matter, or not yours to see',
      fieldError: '{field}: {message}', invalid: 'Invalid input: {message}',
    },
    placeSearch: {
      placeholder: 'Type a name to find a region or grid', placeholderRegions: 'Type a name to find a region',
      none: 'No region or grid matches', loading: 'Searching…', within: '{kind} · {parent}',
    },
    urgency: { normal: 'Normal', urgent: 'Urgent', critical: 'Critical' },
    deadline: { green: 'On time', yellow: 'Due soon', red: 'Overdue' },
  },
}
