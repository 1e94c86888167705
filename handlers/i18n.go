package handlers

import (
	"strings"
)

// Languages of the scan page.
const (
	langZH = "zh"
	langEN = "en"
)

// pickLang chooses the scan page's language: ?lang= first, then the first
// of Chinese or English in Accept-Language, else Chinese.
func pickLang(query, acceptLanguage string) string {
	switch strings.ToLower(query) {
	case langZH, langEN:
		return strings.ToLower(query)
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.Split(part, ";")[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return langZH
		case strings.HasPrefix(tag, "en"):
			return langEN
		}
	}
	return langZH
}

// texts holds the scan page's words in both languages.
var texts = map[string]map[string]string{
	langEN: {
		"title":                      "Product check",
		"verdict.genuine":            "Genuine code",
		"verdict.unknown_code":       "Unknown code — possibly counterfeit",
		"verdict.decommissioned":     "Already sold/decommissioned — check with the seller",
		"verdict.expired":            "Expired",
		"verdict.recalled":           "PRODUCT SAFETY RECALL",
		"explain.genuine":            "This code was issued by the maker registered below.",
		"explain.unknown_code":       "This code was never issued for this product. Do not use the product; report it below.",
		"explain.decommissioned":     "This code was already sold or taken out of use. If you just bought it new, ask the seller.",
		"explain.expired":            "This batch is past its expiry date.",
		"recall.stop":                "Stop using this product.",
		"recall.hazard":              "Hazard",
		"recall.remedy":              "Remedy",
		"recall.contact":             "Contact",
		"product":                    "Product",
		"name":                       "Name",
		"brand":                      "Brand",
		"gtin":                       "GTIN",
		"category":                   "Category",
		"maker":                      "Maker",
		"credit":                     "Credit class",
		"credit.none":                "not rated yet",
		"batch":                      "Batch",
		"lot":                        "Lot",
		"produced":                   "Produced",
		"expiry":                     "Expiry",
		"serial":                     "Serial",
		"provenance":                 "Where it came from",
		"provenance.none":            "No custody records yet.",
		"standards":                  "Declared standards",
		"tipoff":                     "Report a problem",
		"tipoff.intro":               "Tell the regulator what is wrong. Your name and contact are optional and kept confidential.",
		"tipoff.category":            "What is wrong",
		"tipoff.description":         "What you saw",
		"tipoff.name":                "Your name (optional)",
		"tipoff.contact":             "Phone or email (optional)",
		"tipoff.send":                "Send report",
		"tipoff.thanks":              "Thank you. Your report was received.",
		"tipoff.receipt":             "Receipt number — keep it to check the status",
		"switch":                     "中文",
		"stage.farm_lab":             "Farm / lab",
		"stage.processing":           "Processing",
		"stage.distribution":         "Distribution",
		"stage.retail":               "Retail",
		"cat.counterfeit":            "Looks counterfeit",
		"cat.quality":                "Quality problem",
		"cat.safety":                 "Safety problem",
		"cat.labelling":              "Wrong label",
		"cat.expired":                "Sold after expiry",
		"cat.other":                  "Other",
		"error.title":                "This code cannot be read",
		"error.help":                 "The link is not a valid GS1 Digital Link. If you scanned it from a product, the code itself may be fake.",
		"credit.good":                "Good",
		"credit.warning":             "Warning",
		"credit.dishonest":           "Dishonest",
		"credit.seriously_dishonest": "Seriously dishonest",
	},
	langZH: {
		"title":                      "产品查验",
		"verdict.genuine":            "正品码",
		"verdict.unknown_code":       "未知码 — 可能是假冒产品",
		"verdict.decommissioned":     "该码已售出或已注销 — 请向卖家核实",
		"verdict.expired":            "已过期",
		"verdict.recalled":           "产品安全召回",
		"explain.genuine":            "此码由下方登记的生产者签发。",
		"explain.unknown_code":       "本产品从未签发过此码。请勿使用该产品，并在下方举报。",
		"explain.decommissioned":     "此码已被售出或停用。如果您刚买到的是新品，请向卖家核实。",
		"explain.expired":            "此批次已超过保质期。",
		"recall.stop":                "请立即停止使用本产品。",
		"recall.hazard":              "危害",
		"recall.remedy":              "补救措施",
		"recall.contact":             "联系方式",
		"product":                    "产品",
		"name":                       "名称",
		"brand":                      "品牌",
		"gtin":                       "商品条码",
		"category":                   "类别",
		"maker":                      "生产者",
		"credit":                     "信用等级",
		"credit.none":                "尚未评级",
		"batch":                      "批次",
		"lot":                        "批号",
		"produced":                   "生产日期",
		"expiry":                     "有效期至",
		"serial":                     "序列号",
		"provenance":                 "来源追溯",
		"provenance.none":            "暂无流通记录。",
		"standards":                  "执行标准",
		"tipoff":                     "投诉举报",
		"tipoff.intro":               "向监管部门反映问题。姓名和联系方式可不填，填写的信息将予以保密。",
		"tipoff.category":            "问题类型",
		"tipoff.description":         "情况说明",
		"tipoff.name":                "姓名（选填）",
		"tipoff.contact":             "电话或邮箱（选填）",
		"tipoff.send":                "提交举报",
		"tipoff.thanks":              "谢谢，您的举报已收到。",
		"tipoff.receipt":             "回执编号 — 请保存，用于查询处理进度",
		"switch":                     "English",
		"stage.farm_lab":             "产地/实验室",
		"stage.processing":           "加工",
		"stage.distribution":         "流通",
		"stage.retail":               "零售",
		"cat.counterfeit":            "疑似假冒",
		"cat.quality":                "质量问题",
		"cat.safety":                 "安全问题",
		"cat.labelling":              "标签不符",
		"cat.expired":                "过期销售",
		"cat.other":                  "其他",
		"error.title":                "无法识别此码",
		"error.help":                 "该链接不是有效的 GS1 数字链接。如果是从产品上扫描得到的，此码本身可能是假的。",
		"credit.good":                "良好",
		"credit.warning":             "警示",
		"credit.dishonest":           "失信",
		"credit.seriously_dishonest": "严重失信",
	},
}

// categoryNames names product categories in both languages.
var categoryNames = map[string]map[string]string{
	langEN: {"food": "Food", "drug": "Drug", "medical_device": "Medical device", "health_food": "Health food",
		"cosmetics": "Cosmetics", "children": "Children's product", "toy": "Toy", "electronics": "Electronics",
		"vehicle": "Vehicle", "special_equipment": "Special equipment", "other": "Other"},
	langZH: {"food": "食品", "drug": "药品", "medical_device": "医疗器械", "health_food": "保健食品",
		"cosmetics": "化妆品", "children": "儿童用品", "toy": "玩具", "electronics": "电子产品",
		"vehicle": "机动车", "special_equipment": "特种设备", "other": "其他"},
}

// stepNames names CBV business steps in Chinese; English shows them as words.
var stepNamesZH = map[string]string{"commissioning": "赋码/收获", "shipping": "发货", "receiving": "收货",
	"packing": "装箱", "unpacking": "拆箱", "transforming": "加工", "storing": "仓储", "inspecting": "检验",
	"retail_selling": "零售售出", "holding": "暂扣", "sampling": "抽样", "accepting": "验收", "loading": "装车",
	"unloading": "卸车", "departing": "出发", "arriving": "到达", "destroying": "销毁", "decommissioning": "注销"}
