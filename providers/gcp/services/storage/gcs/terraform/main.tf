# Cloud Storage buckets for the infrar storage capability: one per logical name in the code,
# uniform bucket-level access, public access prevention enforced, versioned, encrypted at rest
# (Google-managed keys, or the Cloud KMS key given), reached over HTTPS only (the only transport
# Cloud Storage serves). Each bucket gets a custom role with exactly the permissions the code
# needs, granted on that bucket alone.

variable "buckets" {
  description = "Logical name -> physical name and the IAM permissions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "location" {
  description = "Where the buckets live (a region)."
  type        = string
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "labels" {
  description = "Labels on every bucket."
  type        = map(string)
  default     = {}
}

variable "app_members" {
  description = "IAM members that receive each bucket's role."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each bucket."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "versioning" {
  description = "Keep earlier versions of every object."
  type        = bool
  default     = true
}

variable "noncurrent_version_days" {
  description = "Days after which an earlier object version is deleted."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let Terraform delete buckets that still hold objects."
  type        = bool
  default     = false
}

variable "kms_key_name" {
  description = "Cloud KMS key for default encryption; empty for Google-managed keys."
  type        = string
  default     = ""
}

locals {
  labels = merge(var.labels, { project = var.project, environment = var.environment })
  # Permissions on objects are granted on each bucket. The others (signing URLs) act on the
  # application's own service account, so they are granted on that account alone.
  bucket_permissions = {
    for key, bucket in var.buckets : key => sort([for p in bucket.permissions : p if substr(p, 0, 8) == "storage."])
  }
  account_permissions = sort(distinct(flatten([
    for bucket in var.buckets : [for p in bucket.permissions : p if substr(p, 0, 8) != "storage."]
  ])))
  service_accounts = [for member in var.app_members : trimprefix(member, "serviceAccount:") if substr(member, 0, 15) == "serviceAccount:"]
  grants = {
    for pair in setproduct(keys(var.buckets), var.app_members) : "${pair[0]} ${pair[1]}" => {
      bucket = pair[0]
      member = pair[1]
    }
  }
  scope = sha1("${var.project}/${var.environment}")
}

data "google_client_config" "current" {}

resource "google_storage_bucket" "this" {
  # checkov:skip=CKV_GCP_62:Usage logs need a second, dedicated log bucket; Cloud Audit Logs already record access.
  for_each = var.buckets

  name                        = each.value.name
  location                    = var.location
  force_destroy               = var.force_destroy
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = var.versioning
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == "" ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }
}

resource "google_project_iam_custom_role" "bucket" {
  for_each = var.buckets

  role_id     = "infrar_${substr(replace(each.value.name, "-", "_"), 0, 46)}_${substr(sha1(each.value.name), 0, 8)}"
  title       = "infrar ${each.value.name}"
  description = "What the ${var.project} ${var.environment} code does with bucket ${each.value.name}."
  permissions = local.bucket_permissions[each.key]
}

resource "google_storage_bucket_iam_member" "access" {
  for_each = local.grants

  bucket = google_storage_bucket.this[each.value.bucket].name
  role   = google_project_iam_custom_role.bucket[each.value.bucket].name
  member = each.value.member
}

resource "google_project_iam_custom_role" "account" {
  count = length(local.account_permissions) > 0 ? 1 : 0

  role_id     = "infrar_sign_${substr(local.scope, 0, 16)}"
  title       = "infrar signing ${var.project} ${var.environment}"
  description = "Lets the application sign URLs as its own service account."
  permissions = local.account_permissions
}

resource "google_service_account_iam_member" "account" {
  for_each = length(local.account_permissions) > 0 ? toset(local.service_accounts) : toset([])

  service_account_id = "projects/${data.google_client_config.current.project}/serviceAccounts/${each.value}"
  role               = google_project_iam_custom_role.account[0].name
  member             = "serviceAccount:${each.value}"
}

# Per service: a custom role per bucket it uses, with what its code does there alone.
locals {
  service_buckets = merge({}, [
    for name, grant in var.service_grants : {
      for key, permissions in grant.resources : "${name} ${key}" => {
        service     = name
        bucket      = key
        member      = grant.principal
        permissions = sort([for p in permissions : p if substr(p, 0, 8) == "storage."])
      }
    }
  ]...)
  service_signers = {
    for name, grant in var.service_grants : name => {
      account     = trimprefix(grant.principal, "serviceAccount:")
      member      = grant.principal
      permissions = sort(distinct([for p in flatten(values(grant.resources)) : p if substr(p, 0, 8) != "storage."]))
    } if length([for p in flatten(values(grant.resources)) : p if substr(p, 0, 8) != "storage."]) > 0
  }
}

resource "google_project_iam_custom_role" "service_bucket" {
  for_each = { for key, grant in local.service_buckets : key => grant if length(grant.permissions) > 0 }

  role_id     = "infrar_${substr(sha1("${each.value.service}/${var.buckets[each.value.bucket].name}"), 0, 24)}"
  title       = "infrar ${var.buckets[each.value.bucket].name} ${each.value.service}"
  description = "What the ${each.value.service} service of ${var.project} ${var.environment} does with bucket ${var.buckets[each.value.bucket].name}."
  permissions = each.value.permissions
}

resource "google_storage_bucket_iam_member" "service" {
  for_each = { for key, grant in local.service_buckets : key => grant if length(grant.permissions) > 0 }

  bucket = google_storage_bucket.this[each.value.bucket].name
  role   = google_project_iam_custom_role.service_bucket[each.key].name
  member = each.value.member
}

resource "google_project_iam_custom_role" "service_signer" {
  for_each = local.service_signers

  role_id     = "infrar_sign_${substr(sha1("${var.project}/${var.environment}/${each.key}"), 0, 16)}"
  title       = "infrar signing ${each.key}"
  description = "Lets the ${each.key} service sign URLs as its own service account."
  permissions = each.value.permissions
}

resource "google_service_account_iam_member" "service_signer" {
  for_each = local.service_signers

  service_account_id = "projects/${data.google_client_config.current.project}/serviceAccounts/${each.value.account}"
  role               = google_project_iam_custom_role.service_signer[each.key].name
  member             = each.value.member
}

output "bucket_names" {
  description = "Physical bucket names, by logical name."
  value       = { for key, bucket in google_storage_bucket.this : key => bucket.name }
}

output "bucket_urls" {
  description = "gs:// URLs of the buckets, by logical name."
  value       = { for key, bucket in google_storage_bucket.this : key => bucket.url }
}

output "bucket_roles" {
  description = "The custom role of each bucket, by logical name."
  value       = { for key, role in google_project_iam_custom_role.bucket : key => role.name }
}
